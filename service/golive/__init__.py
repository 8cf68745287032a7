"""golive: follows production rollouts in real time."""
