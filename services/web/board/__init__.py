"""The theme day's board: where every unit's table stands, shown to everyone in the room."""
