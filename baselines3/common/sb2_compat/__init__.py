"""Pieces that reproduce Stable-Baselines (TensorFlow) behaviour where published settings depend on it."""

from baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

__all__ = ["RMSpropTFLike"]
