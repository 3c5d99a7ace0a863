"""``python -m mar_tools`` runs the ``mar`` command."""

from mar_tools.cli import main

if __name__ == "__main__":
    main()
