"""Off-policy pieces DQN, SAC, TD3 and DDPG call: replay-buffer setup, exploration and the collection rounds
(`rounds`), the learn loop (`learn`), and the critics with their target networks (`critics`)."""
