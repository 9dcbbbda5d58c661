from tachyon_engine.server.cli import main

main()
