"""Every write in the MAR with side effects. Import from the submodule that owns it."""
