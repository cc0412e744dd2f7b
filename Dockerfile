# The sign-off gate's image: Debian's klayout (runs the official gf180mcu decks), bmru-pdk's
# base install (no torch) at the tested versions, and the pinned gf180 assets (models, DRC
# deck, LVS deck) inside the image, so a job needs no network.
#
#   docker build -t bmru-signoff .
#   docker run --rm -v "$PWD:/design" bmru-signoff signoff layout/top.gds layout/top.spice -o signoff
FROM debian:bookworm-slim

RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
       klayout libngspice0 python3 python3-venv python3-pip ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/bmru/bin:$PATH \
    BMRU_PDK_CACHE=/opt/bmru-assets \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /src/
COPY constraints/py311.txt /src/constraints/
COPY bmru_pdk /src/bmru_pdk
RUN python3 -m venv /opt/bmru \
    && pip install --no-cache-dir -c /src/constraints/py311.txt /src \
    && bmru setup \
    && python -c "from bmru_pdk import assets; assets.lvs_deck()" \
    && rm -rf /src /root/.cache

WORKDIR /design
ENTRYPOINT ["bmru"]
CMD ["--help"]
