"""The versioned policy (制度): tiers, prices, depth, commission plan, thresholds."""
