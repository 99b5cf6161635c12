"""Indicators others import: STIX 2.1 (stix2), a MISP event (pymisp) and a GraphSense TagPack, from a bundle.

What is shared: the thief-controlled addresses (thief seeds, first-funder attributions, analyst
`thief` decisions) as indicators, and the service endpoints reached as observations. Output is
deterministic: ids derive from the case and the addresses, times from the trace's evidence.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

from tracer.core.models import Category, Label
from tracer.core.networks import CHAINS, ChainKind, get_chain
from tracer.incident.bundle import Bundle

#: Namespace of the deterministic ids (uuid5) of exported objects.
NAMESPACE = uuid.UUID("5e1c7a4e-3b61-4c53-9d0e-8f2a6b7c9d10")
#: Our STIX cyber-observable for a blockchain address (STIX 2.1 has none; parse with allow_custom=True).
ADDRESS_SCO = "x-heisttrace-crypto-address"
#: Format -> default file name inside the bundle.
EXPORT_FILES = {"stix": "indicators.stix.json", "misp": "indicators.misp.json", "tagpack": "indicators.tagpack.yaml"}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def _when(bundle: Bundle) -> str:
    """A fixed time for the export: the latest tainted time in the bundle (deterministic)."""
    times = [r["timestamp"] for r in bundle.flows if r.get("timestamp")]
    return max(times) if times else "1970-01-01T00:00:00Z"


def endpoints(bundle: Bundle) -> list[dict[str, str]]:
    """One row per endpoint address (the first row of each in endpoints.csv)."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for row in bundle.endpoints:
        seen.setdefault((row["chain"], row["address"]), row)
    return [seen[k] for k in sorted(seen)]


@functools.cache
def _address_observable() -> Any:
    """The custom observable class (stix2 registers a type once per process)."""
    import stix2
    from stix2.properties import StringProperty

    @stix2.CustomObservable(
        ADDRESS_SCO,
        [("chain", StringProperty(required=True)), ("address", StringProperty(required=True))],
        id_contrib_props=["chain", "address"],
    )
    class CryptoAddress:
        pass

    return CryptoAddress


def to_stix(bundle: Bundle) -> str:
    """A STIX 2.1 bundle (JSON): the case as a report, indicators, observed data."""
    import stix2

    CryptoAddress = _address_observable()

    when = _when(bundle)
    case = bundle.case_id
    objects: list[Any] = []
    for chain, address in bundle.thief_controlled():
        objects.append(
            stix2.Indicator(
                id=f"indicator--{_id(case, 'thief', chain, address)}",
                created=when,
                modified=when,
                valid_from=when,
                name=f"thief-controlled {chain} address {address}",
                description=f"Taken as thief-controlled in the heisttrace case {case}.",
                indicator_types=["malicious-activity"],
                pattern_type="stix",
                pattern=f"[{ADDRESS_SCO}:address = '{address}' AND {ADDRESS_SCO}:chain = '{chain}']",
                labels=["heisttrace", "thief-controlled"],
            )
        )
    for row in endpoints(bundle):
        sco = CryptoAddress(chain=row["chain"], address=row["address"])
        objects.append(sco)
        objects.append(
            stix2.ObservedData(
                id=f"observed-data--{_id(case, 'endpoint', row['chain'], row['address'])}",
                created=when,
                modified=when,
                first_observed=row.get("first_tainted_at") or when,
                last_observed=row.get("first_tainted_at") or when,
                number_observed=1,
                object_refs=[sco.id],
                labels=["heisttrace", f"endpoint:{row['category']}", row["label"] or "unlabelled"],
                allow_custom=True,
            )
        )
    report = stix2.Report(
        id=f"report--{_id(case, 'report')}",
        created=when,
        modified=when,
        name=str(bundle.summary.get("case")),
        description=f"heisttrace trace of case {case} under the {bundle.summary.get('policy')} policy.",
        published=when,
        report_types=["threat-actor"],
        object_refs=[o.id for o in objects] or [f"indicator--{_id(case, 'none')}"],
        allow_custom=True,
    )
    return (
        stix2.Bundle(report, *objects, id=f"bundle--{_id(case, 'bundle')}", allow_custom=True).serialize(
            pretty=True, sort_keys=True
        )
        + "\n"
    )


def to_misp(bundle: Bundle) -> str:
    """A MISP event (JSON) with one coin-address object per address (btc attributes for Bitcoin)."""
    from pymisp import MISPEvent, MISPObject

    event = MISPEvent()
    event.uuid = _id(bundle.case_id, "misp")
    event.info = f"heisttrace case {bundle.case_id}: thief-controlled addresses and endpoints reached"
    event.date = _when(bundle)[:10]
    event.add_tag("heisttrace")
    rows = [(c, a, "thief-controlled", "") for c, a in bundle.thief_controlled()]
    rows += [(r["chain"], r["address"], f"endpoint: {r['category']}", r["label"]) for r in endpoints(bundle)]
    for chain, address, role, label in rows:
        utxo = get_chain(chain).kind is ChainKind.UTXO
        comment = f"{chain} {role}" + (f" ({label})" if label else "")
        obj = MISPObject("coin-address", standalone=False)
        obj.uuid = _id(bundle.case_id, "misp", chain, address)
        obj.comment = comment
        obj.add_attribute("address" if utxo else "address-crypto", value=address, to_ids=role == "thief-controlled")
        obj.add_attribute("symbol", value=CHAINS[chain].native_symbol)
        for attribute in obj.attributes:
            attribute.uuid = _id(bundle.case_id, "misp", chain, address, attribute.object_relation)
        event.add_object(obj)
        if utxo:
            attribute = event.add_attribute("btc", address, comment=comment, to_ids=role == "thief-controlled")
            attribute.uuid = _id(bundle.case_id, "misp-btc", chain, address)
    return json.dumps({"Event": json.loads(event.to_json())}, indent=2, sort_keys=True) + "\n"


def to_tagpack(bundle: Bundle) -> str:
    """Thief-controlled and endpoint addresses as a GraphSense TagPack (`heisttrace labels import` reads it)."""
    from tracer.labels.files import export_tagpack

    source = f"heisttrace:{bundle.case_id}"
    labels = [
        Label(chain, address, Category.HACKER, "thief-controlled", source=source, source_words=f"case {bundle.case_id}")
        for chain, address in bundle.thief_controlled()
    ]
    for row in endpoints(bundle):
        labels.append(
            Label(
                row["chain"],
                row["address"],
                Category(row["category"]),
                row["label"] or row["category"],
                source=source,
                source_words=f"endpoint of case {bundle.case_id} ({row['label_source']})",
            )
        )
    return export_tagpack(labels, title=f"heisttrace case {bundle.case_id}", creator="heisttrace")


def write_indicators(directory: Any, fmt: str, *, out: Any = None) -> Any:
    """Write the `fmt` export of the bundle at `directory` to `out` (default inside the bundle); returns the path."""
    from pathlib import Path

    from tracer.incident.bundle import read_bundle

    bundle = read_bundle(directory)
    render = {"stix": to_stix, "misp": to_misp, "tagpack": to_tagpack}[fmt]
    target = Path(out) if out is not None else bundle.path / EXPORT_FILES[fmt]
    target.write_text(render(bundle), encoding="utf-8")
    return target
