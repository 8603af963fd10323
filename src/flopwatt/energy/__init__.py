"""Energy of a run: device and host power by activity, facility overhead (PUE), carbon."""
