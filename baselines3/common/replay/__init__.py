"""Replay storage and sampling, composed by the public replay buffer classes.

A replay buffer is a ``TransitionStorage`` (what is kept, and how observations are laid out) and a sampler
(how batches are drawn from it):

- observation layouts (``storage.py``, ``frame_storage.py``): ``PlainObservations`` (observation and next
  observation arrays), ``SharedNextObservations`` (the next observation is the following slot's observation)
  and ``FrameStackObservations`` (each frame of stacked images kept once);
- samplers (``sampling.py``, ``baselines3/her/her_sampler.py``): ``UniformSampler``, ``NStepSampler`` and
  ``HerSampler`` (goal relabelling).

``ReplayBuffer``, ``DictReplayBuffer``, ``NStepReplayBuffer``, ``FrameStackReplayBuffer`` and
``HerReplayBuffer`` pick one of each in their constructors; ``factory.py`` holds the rule by which a model
picks the buffer class.
"""
