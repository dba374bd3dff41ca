"""Saving and loading, safe by default: nothing from a file runs unless the caller opts in.

One job per module (see ``docs/save_format.md`` for the file formats):

- ``errors``: :class:`ModelLoadError` and :class:`UnsafeObjectsSkippedWarning`.
- ``atomic``: atomic writes (temporary file, sync, rename).
- ``paths``: ``open_path`` and the suffixes saved files get.
- ``spaces_json``: gymnasium spaces as JSON and back.
- ``codec``: the tagged JSON codec for hyperparameters, with the classes a file may name passed in.
- ``archive``: the model zip (``save_to_zip_file`` / ``load_from_zip_file``), weights-only tensor members.
- ``arrays``: numeric arrays plus JSON metadata in an ``.npz`` (replay buffers).
- ``params``: a model's state dicts by member name (``get_parameters`` / ``set_parameters``).
- ``model_io``: ``save_model`` / ``load_model``, what ``BaseAlgorithm.save`` and ``load`` do.
- ``sb3``: reading Stable-Baselines3 files with an unpickler that imports nothing.

This package imports none of its modules here, so the storage modules (buffers) can use ``arrays`` without
importing the model side.
"""
