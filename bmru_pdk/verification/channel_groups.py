"""Channel groups: a large part of a layout regrouped into subcircuits for LVS.

KLayout's netlist comparer takes one flat circuit as a whole; on a crossbar of alike series
stacks its time grows as about devices^1.5 (bench_tile.py's LVS column before this
module). Both sides of a comparison are regrouped here by the same rule, so each group is
compared on its own and the time follows the groups.
"""

from __future__ import annotations

from collections import defaultdict

import klayout.db as kdb


def split_channels(netlist: kdb.Netlist, circuit: kdb.Circuit) -> list[kdb.Circuit]:
    """Regroup the devices of ``circuit`` into subcircuits, the same way on either side of a
    comparison, so that each group is compared on its own.

    Devices joined source-to-drain through nets that are not pins (a series stack) form a
    channel-connected component; the components whose sources and drains reach the same
    pins, and whose gates the same pins (bulk nets, the supplies, aside), form one group: a
    subcircuit named ``<circuit>.<channel pins>.<gate pins>`` (``-`` for none). A crossbar
    falls apart into a group per NMOS weight (``s3.x5``: rail 3, input 5), per rail's PMOS
    weights (their gates are the rows' ``xp`` lines, not pins: ``s3.-``) and per input
    mirror, and each group is compared with its namesake alone, so the time follows the
    tile (a crossbar compared whole grew as about devices^1.5). A net that joins groups
    without being a pin (a PMOS row's gate line) becomes a pin of each, named ``~`` and the
    pins on the gates of the component that drives it (``~x5``). Where that gives no single
    name per net, or everything is one group, the circuit is left as it is.

    Only the grouping changes, never a connection: a match of the groups is a match of the
    circuit. A difference may make the two sides' groups differ; the caller compares flat.

    Returns:
        The new subcircuits, by name (none if the circuit was left as it is).
    """
    if any(True for _ in circuit.each_subcircuit()):
        return []
    nets: dict[str, kdb.Net] = {}
    for net in circuit.each_net():
        if net.expanded_name() in nets:
            return []
        nets[net.expanded_name()] = net
    pins = {net.expanded_name(): p.name().lower() for p in circuit.each_pin()
            if (net := circuit.net_for_pin(p)) is not None}
    devices = list(circuit.each_device())
    terminals = [[(t.id(), t.name, net.expanded_name())
                  for t in d.device_class().terminal_definitions()
                  if (net := d.net_for_terminal(t.id())) is not None] for d in devices]
    bulk = {k for ts in terminals for _, name, k in ts if name == "B"}

    def channel(name: str) -> bool:
        return name not in ("G", "B")

    root = list(range(len(devices)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    first: dict[str, int] = {}
    for i, ts in enumerate(terminals):
        for _, name, k in ts:
            if channel(name) and k not in pins and k not in bulk:
                root[find(i)] = find(first.setdefault(k, i))
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(len(devices)):
        components[find(i)].append(i)

    def touched(members: list[int], on_channel: bool) -> list[str]:
        return sorted({pins[k] for i in members for _, name, k in terminals[i]
                       if channel(name) == on_channel and k in pins and k not in bulk})

    group_of: dict[int, str] = {}  # device -> group name
    driver: dict[str, list[int]] = {}  # inner net -> the component on its channel
    for members in components.values():
        group = ".".join([circuit.name.lower(), *("+".join(touched(members, on)) or "-"
                                                  for on in (True, False))])
        for i in members:
            group_of[i] = group
            for _, name, k in terminals[i]:
                if channel(name) and k not in pins and k not in bulk:
                    driver[k] = members
    users: dict[str, set[str]] = defaultdict(set)
    for i, ts in enumerate(terminals):
        for _, _, k in ts:
            users[k].add(group_of[i])
    groups = sorted(set(group_of.values()))
    if len(groups) < 2:
        return []
    names = dict(pins)
    for k, used in users.items():
        if k in pins or len(used) < 2:
            continue
        if k not in driver:  # a gate-only net between groups: no component names it
            return []
        names[k] = "~" + "+".join(touched(driver[k], False))
    if len(set(names.values())) < len(names):
        return []

    inner: dict[str, kdb.Circuit] = {}
    local: dict[str, dict[str, kdb.Net]] = {}  # group -> its nets, by the circuit's net
    outer: dict[str, dict[str, kdb.Pin]] = {}  # group -> its pins, by the circuit's net
    for group in groups:
        sub = kdb.Circuit()
        sub.name = group
        netlist.add(sub)
        inner[group], local[group], outer[group] = sub, {}, {}
    for i, d in enumerate(devices):
        group = group_of[i]
        sub, here = inner[group], local[group]
        copy = sub.create_device(d.device_class(), d.name)
        for p in d.device_class().parameter_definitions():
            copy.set_parameter(p.id(), d.parameter(p.id()))
        for tid, _, k in terminals[i]:
            if k not in here:
                here[k] = sub.create_net(names.get(k, nets[k].name))
                if k in names:  # pins are kept: a lookup by name is case-folded on one side
                    outer[group][k] = sub.create_pin(names[k])
                    sub.connect_pin(outer[group][k], here[k])
            copy.connect_terminal(tid, here[k])
    for group in groups:
        placed = circuit.create_subcircuit(inner[group], group)
        for k, pin in outer[group].items():
            placed.connect_pin(pin, nets[k])
    for d in devices:
        circuit.remove_device(d)
    circuit.purge_nets_keep_pins()
    return [inner[g] for g in groups]
