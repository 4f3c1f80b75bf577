"""The slot-time cost model and the triggerer capacity plan (see the README's "What the waiting costs")."""
