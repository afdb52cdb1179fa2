"""The consultancy admin's pages: the administration home, the client organisations (onboard,
assign consultants, export, erase) and the rating instruments (versions, a new version from an
existing one). Platform pages: no tenant in the path, consultancy admins only."""
