"""The balkort method as aggregates and events. Pure: standard library and eventsourcing.domain only."""
