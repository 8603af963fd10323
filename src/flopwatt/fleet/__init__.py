"""Fleet: heterogeneous accelerator pools across sites, scheduled by an event-driven simulation."""
