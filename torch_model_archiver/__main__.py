"""``python -m torch_model_archiver``: the same as the ``torch-model-archiver`` command."""

from torch_model_archiver.cli import main

if __name__ == "__main__":
    main()
