"""``python -m nanoservices`` runs the command line."""

from nanoservices._cli import main

main()
