"""On-policy pieces A2C and PPO call: rollout-buffer setup and collection (`rollouts`), the learn loop (`learn`)."""
