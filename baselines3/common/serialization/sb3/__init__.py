"""Reading files saved by Stable-Baselines3 (SB3) and sb3-contrib without running any code from them.

SB3's model zips hold base64 pickles in their JSON, and its ``vec_normalize.pkl`` and replay buffer ``.pkl``
files are plain pickles. Every pickle goes through the restricted unpickler (:mod:`.unpickler`), which answers
only for the data classes of :mod:`.allow_list` and imports nothing. Then :mod:`.model` reads model zips,
:mod:`.optimizer` fits their weights and optimizer states onto a rebuilt model, :mod:`.vec_normalize` reads
normalization statistics and :mod:`.replay_buffer` fills a replay buffer.
"""
