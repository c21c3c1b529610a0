from cogapi.cli import main

main()
