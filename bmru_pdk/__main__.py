from bmru_pdk.cli import main

main()
