#!/usr/bin/env python3
"""Generates the matcher accuracy corpus (eval/accuracy/*.json) from templates.

Every expected answer here is derived from the matching rules in docs/matching.md and the seed
policy (window 5 days, fuzzy tolerance max(5.00 USD, 0.1% of |GL amount|), multi sum tolerance
1.00 USD, max group 6, counterparty similarity 0.85, GBP 1.2650 from 2026-01-01 and 1.2710 from
2026-04-01, JPY 0.0067 from 2026-01-01) by the case design: never by running the matcher.
Hard cases carry `hard:` at the start of their description and `-hard-` in their id.

Run from the repository root: python3 eval/accuracy/generate.py
Deterministic: no randomness, the files are byte-identical on every run.
"""
import json
import os
from decimal import Decimal

OUT = os.path.dirname(os.path.abspath(__file__))
D = Decimal

# Counterparty pairs that normalise to the same name (legal suffixes, case, punctuation).
CP_VARIANTS = [
    ("Acme Corp", "ACME CORPORATION"),
    ("Globex LLC", "Globex"),
    ("Initech Ltd.", "INITECH LIMITED"),
    ("Umbrella GmbH", "umbrella"),
    ("Tyrell Corporation", "Tyrell Corp."),
    ("Hooli, Inc.", "HOOLI INC"),
    ("Wonka Co., Ltd.", "Wonka"),
    ("Soylent PLC", "Soylent plc"),
    ("Cyberdyne Systems KK", "CYBERDYNE SYSTEMS K.K."),
    ("Vandelay Industries SA", "Vandelay Industries"),
    ("Oscorp AG", "OSCORP"),
    ("Gringotts BV", "Gringotts B.V."),
]
# Names far apart from each other (Jaro-Winkler well below 0.85 after normalisation).
OTHER = ["Pied Piper", "Dunder Mifflin", "Nakatomi Trading", "Bluth Company", "Massive Dynamic",
         "Zorg Industries", "Xanadu Logistics", "Quartz Media"]

REF_VARIANTS = [  # (GL form, SL form) normalising to the same reference
    ("INV-{n}", "inv{n}"), ("INV-{n}", "INV {n}"), ("PO/{n}", "po-{n}"), ("Inv.{n}", "INV-{n}"),
    ("{n}-INV", "{n} inv"), ("SO_{n}", "so{n}"),
]

USD = ("US-PARENT", "1200", "USD", 2)
GBP = ("UK-SUB", "1210", "GBP", 2)
JPY = ("JP-SUB", "1220", "JPY", 0)

cases = {"exact": [], "fuzzy": [], "multi": [], "exception": []}


def day(n):
    """2026-04-01 + n days (n may be negative)."""
    import datetime
    return (datetime.date(2026, 4, 1) + datetime.timedelta(days=n)).isoformat()


def amt(x, exp):
    q = D(1).scaleb(-exp)
    return str(D(x).quantize(q))


def e(eid, side, amount, date, cp=None, ref=None, book=USD, currency=None, account=None, entity=None):
    ent, acct, cur, exp = book
    cur = currency or cur
    exp = 0 if cur == "JPY" else 2
    r = {"entry_id": eid, "side": side, "entity": entity or ent, "account": account or acct,
         "amount": amt(amount, exp), "currency": cur, "date": date}
    if cp is not None:
        r["counterparty"] = cp
    if ref is not None:
        r["reference"] = ref
    return r


def g(cls, gl, sl):
    return {"class": cls, "gl": list(gl), "sl": list(sl)}


def case(cat, cid, desc, entries, expected, hard=False):
    if hard:
        desc = "hard: " + desc
    cases[cat].append({"id": cid, "description": desc, "policy": None,
                       "entries": entries, "expected": expected})


# ---------------------------------------------------------------- exact_match
for i in range(24):
    gf, sf = REF_VARIANTS[i % len(REF_VARIANTS)]
    n = 1000 + i
    a = D(125) + D(i) * D("317.45")
    sign = -1 if i % 6 == 5 else 1
    gap = i % 5
    cpg, cps = CP_VARIANTS[i % len(CP_VARIANTS)]
    case("exact", f"exact-usd-{i:02}",
         f"one GL and one SL with identical amount {'(a refund, both negative) ' if sign < 0 else ''}"
         f"and references `{gf.format(n=n)}`/`{sf.format(n=n)}` equal after normalisation, {gap} day(s) apart",
         [e("GL-1", "GL", a * sign, day(0), cpg, gf.format(n=n)),
          e("SL-1", "SL", a * sign, day(gap), cps, sf.format(n=n))],
         [g("exact_match", ["GL-1"], ["SL-1"])])
for i in range(6):
    a = D(880) + D(i) * D("1040.10")
    case("exact", f"exact-gbp-{i:02}", "UK-SUB pair in GBP, identical amounts and references",
         [e("GL-1", "GL", a, day(i), "Initech Ltd.", f"UK-{500 + i}", GBP),
          e("SL-1", "SL", a, day(i + 1), "INITECH LIMITED", f"uk {500 + i}", GBP)],
         [g("exact_match", ["GL-1"], ["SL-1"])])
for i in range(6):
    a = 150000 + i * 73000
    case("exact", f"exact-jpy-{i:02}", "JP-SUB pair in JPY (no minor units), identical amounts and references",
         [e("GL-1", "GL", a, day(i), "Cyberdyne Systems KK", f"JP-{7700 + i}", JPY),
          e("SL-1", "SL", a, day(i), "CYBERDYNE SYSTEMS K.K.", f"JP{7700 + i}", JPY)],
         [g("exact_match", ["GL-1"], ["SL-1"])])
for i in range(8):
    ents, exp = [], []
    for k in range(3):
        n = 4000 + i * 10 + k
        a = D(200) + D(k) * D("1500.25") + D(i) * D("33.10")
        ents += [e(f"GL-{k}", "GL", a, day(k), OTHER[(i + k) % len(OTHER)], f"INV-{n}"),
                 e(f"SL-{k}", "SL", a, day(k + 2), OTHER[(i + k) % len(OTHER)], f"inv {n}")]
        exp.append(g("exact_match", [f"GL-{k}"], [f"SL-{k}"]))
    case("exact", f"exact-three-pairs-{i:02}", "three independent exact pairs in one book; amounts far apart",
         ents, exp)
for i in range(6):
    a = D(64) + D(i) * D("901.5")
    case("exact", f"exact-no-counterparty-{i:02}", "exact pair with references but no counterparty on either side",
         [e("GL-1", "GL", a, day(0), None, f"REF-{9000 + i}"),
          e("SL-1", "SL", a, day(3), None, f"ref-{9000 + i}")],
         [g("exact_match", ["GL-1"], ["SL-1"])])
# hard exact
for i in range(4):
    a = D(2500) + D(i) * D("10.01")
    case("exact", f"exact-hard-window-edge-{i:02}",
         "dates exactly 5 days apart: the window is inclusive, so this is still an exact match",
         [e("GL-1", "GL", a, day(i), "Acme Corp", f"INV-{6100 + i}"),
          e("SL-1", "SL", a, day(i + 5) if i % 2 == 0 else day(i - 5), "ACME CORPORATION", f"INV{6100 + i}")],
         [g("exact_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(4):
    a = D(750) + D(i) * D("250.5")
    case("exact", f"exact-hard-decoy-{i:02}",
         "decoy SL with the same amount, another counterparty and a reference one edit away: the exact pair wins, the decoy stays an exception",
         [e("GL-1", "GL", a, day(0), "Globex LLC", f"INV-{5500 + i}"),
          e("SL-1", "SL", a, day(1), "Globex", f"inv{5500 + i}"),
          e("SL-2", "SL", a, day(0), OTHER[i], f"INV-{5500 + i}9")],
         [g("exact_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(3):
    a = D(430) + D(i) * D("99.99")
    case("exact", f"exact-hard-duplicate-dated-{i:02}",
         "duplicated SL import, copies 0 and 2 days from the GL: the closer date wins, the other copy stays an exception",
         [e("GL-1", "GL", a, day(0), "Hooli, Inc.", f"SO_{300 + i}"),
          e("SL-1", "SL", a, day(2), "HOOLI INC", f"so{300 + i}"),
          e("SL-2", "SL", a, day(0), "HOOLI INC", f"so{300 + i}")],
         [g("exact_match", ["GL-1"], ["SL-2"])], hard=True)
for i in range(3):
    case("exact", f"exact-hard-better-elsewhere-{i:02}",
         "SL-1 is exact for both GLs but 0 days from GL-2 and 4 from GL-1: global assignment gives it to GL-2 whatever the input order, GL-1 stays an exception",
         [e("GL-1", "GL", D(980) + i, day(0), "Oscorp AG", f"INV-{8800 + i}"),
          e("GL-2", "GL", D(980) + i, day(4), "Oscorp AG", f"INV-{8800 + i}"),
          e("SL-1", "SL", D(980) + i, day(4), "OSCORP", f"INV-{8800 + i}")],
         [g("exact_match", ["GL-2"], ["SL-1"])], hard=True)

# ---------------------------------------------------------------- fuzzy_match
for i in range(14):
    a = D(600) + D(i) * D("611.11")
    fee = [D("15.00"), D("0.01"), D("2.50"), D("4.99")][i % 4] if a < 5000 else [D("4.00"), D("3.10")][i % 2]
    if fee > 5:
        fee = D("5.00")
    case("fuzzy", f"fuzzy-bank-fee-{i:02}",
         f"receipt net of a {fee} bank fee (within max(5.00, 0.1%)), same reference",
         [e("GL-1", "GL", a, day(0), "Acme Corp", f"INV-{1100 + i}"),
          e("SL-1", "SL", a - fee, day(2), "ACME CORPORATION", f"INV{1100 + i}")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(6):
    a = D(20000) + D(i) * D(10000)
    fee = (a * D("0.001")).quantize(D("0.01")) - D("1.00")
    case("fuzzy", f"fuzzy-large-fee-{i:02}",
         f"large wire {a} net of {fee}: above 5.00 but within 0.1% of the GL amount",
         [e("GL-1", "GL", a, day(0), "Tyrell Corporation", f"WIRE-{200 + i}"),
          e("SL-1", "SL", a - fee, day(1), "Tyrell Corp.", f"wire {200 + i}")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(10):
    n = 30000 + i * 7
    sl_ref = [f"INV-{n + 1}", f"INV-{n}A", f"INV-{n}-AB", f"IVN-{n}", f"NV-{n}"][i % 5]
    case("fuzzy", f"fuzzy-reference-typo-{i:02}",
         f"same amount, reference `INV-{n}` vs `{sl_ref}` (edit distance 1 or 2 after normalisation)",
         [e("GL-1", "GL", D(345) + i * 10, day(0), OTHER[i % 8], f"INV-{n}"),
          e("SL-1", "SL", D(345) + i * 10, day(1), OTHER[i % 8], sl_ref)],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(12):
    cpg, cps = CP_VARIANTS[i]
    a = D(95) + D(i) * D("123.40")
    missing_gl = i % 3 == 2
    case("fuzzy", f"fuzzy-missing-reference-{i:02}",
         f"reference missing on the {'GL' if missing_gl else 'SL'} side; counterparties `{cpg}`/`{cps}` equal after dropping legal suffixes",
         [e("GL-1", "GL", a, day(0), cpg, None if missing_gl else f"INV-{7000 + i}"),
          e("SL-1", "SL", a - (D("1.25") if i % 2 else 0), day(3), cps, f"INV-{7000 + i}" if missing_gl else None)],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(4):
    a = D(1200) + D(i) * D("55.55")
    case("fuzzy", f"fuzzy-no-references-{i:02}",
         "identical amounts but no references on either side: never exact, fuzzy on counterparty similarity",
         [e("GL-1", "GL", a, day(0), "Vandelay Industries SA"),
          e("SL-1", "SL", a, day(2), "Vandelay Industries")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(6):
    gbp = D(1000) + D(i) * D(200)
    usd = gbp * D("1.2710") - D(i % 3)  # GL dated on/after 2026-04-01
    case("fuzzy", f"fuzzy-cross-currency-gbp-{i:02}",
         f"GBP {gbp} GL vs USD {usd} SL on the UK-SUB account: compared in USD at 1.2710 (rate from 2026-04-01), difference {i % 3}.00",
         [e("GL-1", "GL", gbp, day(2), "Soylent PLC", f"UKX-{i}", GBP),
          e("SL-1", "SL", usd, day(3), "Soylent plc", f"ukx{i}", GBP, currency="USD")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
for i in range(4):
    jpy = 150000 + 30000 * i
    usd = D(jpy) * D("0.0067") - D(2)
    case("fuzzy", f"fuzzy-cross-currency-jpy-{i:02}",
         f"JPY {jpy} GL vs USD {usd} SL on the JP-SUB account: compared in USD at 0.0067, difference 2.00",
         [e("GL-1", "GL", jpy, day(1), "Cyberdyne Systems KK", f"JPX-{i}", JPY),
          e("SL-1", "SL", usd, day(1), "CYBERDYNE SYSTEMS K.K.", f"JPX-{i}", JPY, currency="USD")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])])
# hard fuzzy
for i in range(3):
    a = D(1000) + D(i) * D(1000)  # 0.1% <= 3.00 < 5.00
    case("fuzzy", f"fuzzy-hard-tolerance-equal-{i:02}",
         "difference exactly 5.00 (the absolute tolerance): equal to the tolerance is inside",
         [e("GL-1", "GL", a, day(0), "Wonka Co., Ltd.", f"INV-{2200 + i}"),
          e("SL-1", "SL", a - D(5), day(0), "Wonka", f"INV-{2200 + i}")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(2):
    a = D(20000) + D(i) * D(30000)
    case("fuzzy", f"fuzzy-hard-pct-equal-{i:02}",
         f"difference exactly 0.1% of {a}: equal to the percentage tolerance is inside",
         [e("GL-1", "GL", a, day(0), "Gringotts BV", f"INV-{2300 + i}"),
          e("SL-1", "SL", a - a / 1000, day(0), "Gringotts B.V.", f"INV-{2300 + i}")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(2):
    case("fuzzy", f"fuzzy-hard-rate-as-of-{i:02}",
         "GBP 1000.00 dated 2026-03-31 converts at 1.2650 (the 2026-04-01 rate does not apply yet) and equals the USD 1265.00 SL",
         [e("GL-1", "GL", D(1000) + i, day(-1), "Umbrella GmbH", f"UKR-{i}", GBP),
          e("SL-1", "SL", (D(1000) + i) * D("1.2650"), day(1), "umbrella", f"UKR-{i}", GBP, currency="USD")],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(2):
    case("fuzzy", f"fuzzy-hard-same-currency-gbp-{i:02}",
         "GBP pair straddling the rate change, net of a GBP 3.95 fee: same-currency difference converted at the GL date's rate (3.95 x 1.2650 = 4.997 <= 5.00)",
         [e("GL-1", "GL", D(1000) + 100 * i, day(-2), "Initech Ltd.", f"UKF-{i}", GBP),
          e("SL-1", "SL", D(1000) + 100 * i - D("3.95"), day(2), "INITECH LIMITED", f"UKF-{i}", GBP)],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(2):
    case("fuzzy", f"fuzzy-hard-jpy-tolerance-{i:02}",
         "JPY 300000 net of a 746 yen fee: 746 x 0.0067 = 4.9982 USD <= 5.00, inside",
         [e("GL-1", "GL", 300000 + i, day(0), "Nakatomi Trading", f"JPF-{i}", JPY),
          e("SL-1", "SL", 300000 + i - 746, day(0), "Nakatomi Trading", f"JPF-{i}", JPY)],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(3):
    a = D(777) + i
    case("fuzzy", f"fuzzy-hard-decoy-counterparty-{i:02}",
         "no references; a decoy SL has the same amount but another counterparty: only the similar counterparty qualifies",
         [e("GL-1", "GL", a, day(0), "Massive Dynamic"),
          e("SL-1", "SL", a - D("2.00"), day(1), "MASSIVE DYNAMIC INC"),
          e("SL-2", "SL", a - D("2.00"), day(1), OTHER[i])],
         [g("fuzzy_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(3):
    a = D(1500) + i
    case("fuzzy", f"fuzzy-hard-better-reference-{i:02}",
         "two fuzzy candidates with the same fee: equal normalised reference beats a reference one edit away",
         [e("GL-1", "GL", a, day(0), "Bluth Company", f"INV-{4400 + i}"),
          e("SL-1", "SL", a - 3, day(1), "Bluth Company", f"INV-{4400 + i}1"),
          e("SL-2", "SL", a - 3, day(1), "Bluth Company", f"INV-{4400 + i}")],
         [g("fuzzy_match", ["GL-1"], ["SL-2"])], hard=True)

# ---------------------------------------------------------------- multi_to_one
SPLITS = [[600, 400], [250, 250, 500], [100, 200, 300, 400], [1200.5, 799.5], [10, 20, 30, 40, 50],
          [333.33, 333.33, 333.34], [1500, 2500, 1000], [75.25, 24.75], [40, 60, 80, 120, 150, 50],
          [5000, 2500, 1250, 1250], [12.34, 56.78, 90.12], [700, 300], [2222.22, 1111.11], [45, 55, 65, 35],
          [9000, 1000]]
for i, parts in enumerate(SPLITS):
    total = sum(D(str(p)) for p in parts)
    cpg, cps = CP_VARIANTS[i % len(CP_VARIANTS)]
    ents = [e("GL-1", "GL", total, day(0), cpg, f"INV-{8000 + i}")]
    ents += [e(f"SL-{k + 1}", "SL", D(str(p)), day(k % 4), cps, f"PAY-{90000 + 37 * i + 11 * k}") for k, p in enumerate(parts)]
    case("multi", f"multi-split-sl-{i:02}",
         f"GL of {total} paid in {len(parts)} SL instalments from the same counterparty, references unrelated",
         ents, [g("multi_to_one", ["GL-1"], [f"SL-{k + 1}" for k in range(len(parts))])])
for i in range(8):
    parts = [D(1000) + i * 10, D(500) + i, D(250)][: 2 + i % 2]
    total = sum(parts)
    ents = [e("SL-1", "SL", total, day(1), "Stripe Payments", f"PO-{i}00")]
    ents += [e(f"GL-{k + 1}", "GL", p, day(k), "Stripe Payments Ltd", f"S-{i}-{k}99") for k, p in enumerate(parts)]
    case("multi", f"multi-batch-gl-{i:02}",
         f"one bank deposit of {total} settling {len(parts)} GL invoices of the same payer (many GL to one SL)",
         ents, [g("multi_to_one", [f"GL-{k + 1}" for k in range(len(parts))], ["SL-1"])])
for i in range(6):
    parts = [D(300) + i, D(700) - i, D(150)][: 2 + i % 2]
    total = sum(parts)
    ents = [e("GL-1", "GL", total, day(0), None, f"INV-{2001 + i}")]
    ents += [e(f"SL-{k + 1}", "SL", p, day(1), None, f"INV-{2001 + i}-{k + 1}") for k, p in enumerate(parts)]
    case("multi", f"multi-reference-root-{i:02}",
         f"no counterparties; SL references `INV-{2001 + i}-1`.. share the GL reference `INV-{2001 + i}` as their root",
         ents, [g("multi_to_one", ["GL-1"], [f"SL-{k + 1}" for k in range(len(parts))])])
for i in range(6):
    short = [D("0.01"), D("0.50"), D("1.00"), D("-0.50"), D("-1.00"), D("0.99")][i]
    parts = [D(400), D(350), D(250)]
    total = sum(parts) + short
    ents = [e("GL-1", "GL", total, day(0), "Hooli, Inc.", f"INV-{3100 + i}")]
    ents += [e(f"SL-{k + 1}", "SL", p, day(2), "Hooli", f"P{k}-{i}") for k, p in enumerate(parts)]
    case("multi", f"multi-sum-tolerance-{i:02}",
         f"three SL summing to the GL within {abs(short)} (multi_sum_tolerance 1.00 is inclusive)",
         ents, [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2", "SL-3"])])
for i in range(3):
    parts = [100000 + i, 50000, 25000]
    ents = [e("GL-1", "GL", sum(parts), day(0), "Nakatomi Trading", f"JPM-{i}", JPY)]
    ents += [e(f"SL-{k + 1}", "SL", p, day(1), "NAKATOMI TRADING KK", None, JPY) for k, p in enumerate(parts)]
    case("multi", f"multi-jpy-{i:02}", "JPY receivable settled in three JP-SUB receipts", ents,
         [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2", "SL-3"])])
# hard multi
for i in range(4):
    ents = [e("GL-1", "GL", D(1000) + i, day(0), "Acme Corp", f"INV-{6600 + i}"),
            e("SL-1", "SL", D(600) + i, day(1), "ACME CORPORATION", "DEP-1"),
            e("SL-2", "SL", D(400), day(1), "Acme", "DEP-2"),
            e("SL-3", "SL", D(400), day(1), OTHER[i], "DEP-3")]
    case("multi", f"multi-hard-decoy-line-{i:02}",
         "split with a decoy line of the same amount that would also complete the sum, from an unrelated counterparty: only the linked lines form the group",
         ents, [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2"])], hard=True)
for i in range(3):
    ents = [e("GL-1", "GL", D(900) + i, day(0), "Globex LLC", f"INV-{6700 + i}"),
            e("SL-1", "SL", D(500) + i, day(5), "Globex", None),
            e("SL-2", "SL", D(400), day(-5), "Globex", None),
            e("SL-3", "SL", D(400), day(6), "Globex", None)]
    case("multi", f"multi-hard-window-{i:02}",
         "split lines exactly 5 days either side are in the window; a same-counterparty line that would also sum is 6 days away and is not",
         ents, [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2"])], hard=True)
for i in range(2):
    parts = [D(10) + k + i for k in range(6)]
    ents = [e("GL-1", "GL", sum(parts), day(0), "Quartz Media", f"INV-{6800 + i}")]
    ents += [e(f"SL-{k + 1}", "SL", p, day(1), "Quartz Media", None) for k, p in enumerate(parts)]
    case("multi", f"multi-hard-six-lines-{i:02}", "six lines: exactly multi_max_group, allowed",
         ents, [g("multi_to_one", ["GL-1"], [f"SL-{k + 1}" for k in range(6)])], hard=True)
for i in range(2):
    ents = [e("GL-1", "GL", 100149 + i * 0, day(0), "Nakatomi Trading", f"JPT-{i}", JPY),
            e("SL-1", "SL", 60000, day(0), "Nakatomi Trading", None, JPY),
            e("SL-2", "SL", 40000, day(0), "Nakatomi Trading", None, JPY)]
    case("multi", f"multi-hard-jpy-tolerance-{i:02}",
         "JPY sum short by 149 yen: 149 x 0.0067 = 0.9983 USD <= 1.00, inside the multi tolerance",
         ents, [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2"])], hard=True)
for i in range(2):
    ents = [e("GL-1", "GL", D(500) + i, day(0), "Pied Piper", f"INV-{6900 + i}"),
            e("SL-1", "SL", D(300) + i, day(0), "Pied Piper", None),
            e("SL-2", "SL", D(200), day(0), "Pied Piper", None),
            e("GL-2", "GL", D(200), day(0), "Pied Piper", f"INV-{6950 + i}"),
            e("SL-3", "SL", D(200), day(0), "Pied Piper", f"INV-{6950 + i}")]
    case("multi", f"multi-hard-pair-first-{i:02}",
         "a second 200.00 SL exactly matches another GL; the pair is taken first, and the split uses the remaining lines",
         ents, [g("multi_to_one", ["GL-1"], ["SL-1", "SL-2"]), g("exact_match", ["GL-2"], ["SL-3"])], hard=True)

# ---------------------------------------------------------------- exceptions
for i in range(4):
    a = D(1000) + D(i) * D(1000)
    case("exception", f"exception-hard-fee-over-{i:02}",
         "difference 5.01 on an amount whose 0.1% is below 5.00: just outside the fuzzy tolerance",
         [e("GL-1", "GL", a, day(0), "Acme Corp", f"INV-{1500 + i}"),
          e("SL-1", "SL", a - D("5.01"), day(0), "ACME CORPORATION", f"INV-{1500 + i}")],
         [], hard=True)
for i in range(2):
    a = D(20000) + D(i) * D(30000)
    case("exception", f"exception-hard-pct-over-{i:02}",
         f"difference 0.01 above 0.1% of {a}: outside",
         [e("GL-1", "GL", a, day(0), "Gringotts BV", f"INV-{1600 + i}"),
          e("SL-1", "SL", a - a / 1000 - D("0.01"), day(0), "Gringotts B.V.", f"INV-{1600 + i}")],
         [], hard=True)
for i in range(4):
    a = D(320) + i
    case("exception", f"exception-hard-date-outside-{i:02}",
         "otherwise exact pair dated 6 days apart: outside the 5-day window",
         [e("GL-1", "GL", a, day(0), "Initech Ltd.", f"INV-{1700 + i}"),
          e("SL-1", "SL", a, day(6) if i % 2 else day(-6), "INITECH LIMITED", f"INV-{1700 + i}")],
         [], hard=True)
for i in range(2):
    parts = [D(10) + k + i for k in range(7)]
    ents = [e("GL-1", "GL", sum(parts), day(0), "Quartz Media", f"INV-{1800 + i}")]
    ents += [e(f"SL-{k + 1}", "SL", p, day(1), "Quartz Media", None) for k, p in enumerate(parts)]
    case("exception", f"exception-hard-seven-lines-{i:02}",
         "seven lines sum to the GL but the group limit is 6: no match", ents, [], hard=True)
for i in range(4):
    a = D(410) + i
    case("exception", f"exception-hard-reversed-sign-{i:02}",
         "GL +amount vs SL -amount with the same reference: opposite signs never match (a reversal is not a settlement)",
         [e("GL-1", "GL", a if i % 2 == 0 else -a, day(0), "Hooli, Inc.", f"INV-{1900 + i}"),
          e("SL-1", "SL", -a if i % 2 == 0 else a, day(0), "HOOLI INC", f"INV-{1900 + i}")],
         [], hard=True)
for i in range(3):
    case("exception", f"exception-other-account-{i:02}",
         "identical amount and reference but a different account",
         [e("GL-1", "GL", D(880) + i, day(0), "Oscorp AG", f"INV-{2000 + i}"),
          e("SL-1", "SL", D(880) + i, day(0), "OSCORP", f"INV-{2000 + i}", account="1300")], [])
for i in range(3):
    case("exception", f"exception-other-entity-{i:02}",
         "identical amount and reference but booked by another entity",
         [e("GL-1", "GL", D(990) + i, day(0), "Oscorp AG", f"INV-{2100 + i}"),
          e("SL-1", "SL", D(990) + i, day(0), "OSCORP", f"INV-{2100 + i}", entity="UK-SUB", currency="USD")], [])
for i in range(4):
    a = D(250) + i
    case("exception", f"exception-hard-ambiguous-duplicate-{i:02}",
         "two identical SL copies on the same date for one GL: equally good, so all three are AMBIGUOUS exceptions",
         [e("GL-1", "GL", a, day(0), "Tyrell Corporation", f"INV-{2400 + i}"),
          e("SL-1", "SL", a, day(1), "Tyrell Corp.", f"INV-{2400 + i}"),
          e("SL-2", "SL", a, day(1), "Tyrell Corp.", f"INV-{2400 + i}")], [], hard=True)
for i in range(3):
    case("exception", f"exception-hard-ambiguous-fuzzy-{i:02}",
         "two SL net of the same fee with equal references and dates: ambiguous fuzzy candidates, all left to a human",
         [e("GL-1", "GL", D(1000) + i, day(0), "Bluth Company", f"INV-{2500 + i}"),
          e("SL-1", "SL", D(998) + i, day(2), "Bluth Company", f"INV{2500 + i}"),
          e("SL-2", "SL", D(998) + i, day(2), "Bluth Company", f"inv {2500 + i}")], [], hard=True)
for i in range(3):
    case("exception", f"exception-hard-ambiguous-split-{i:02}",
         "600+400 and 600+250+150 both sum to the GL from the same counterparty: two equally good subset-sum solutions, all AMBIGUOUS",
         [e("GL-1", "GL", D(1000), day(i), "Acme Corp", f"INV-{2600 + i}"),
          e("SL-1", "SL", D(600), day(i), "Acme", None),
          e("SL-2", "SL", D(400), day(i), "Acme", None),
          e("SL-3", "SL", D(250), day(i), "Acme", None),
          e("SL-4", "SL", D(150), day(i), "Acme", None)], [], hard=True)
for i in range(2):
    case("exception", f"exception-hard-ambiguous-no-reference-{i:02}",
         "no references and two SL from the same counterparty with the same amount and date: ambiguous",
         [e("GL-1", "GL", D(500) + i, day(0), "Acme Corp"),
          e("SL-1", "SL", D(500) + i, day(0), "ACME"),
          e("SL-2", "SL", D(500) + i, day(0), "Acme Inc.")], [], hard=True)
for i in range(4):
    case("exception", f"exception-reference-mismatch-{i:02}",
         "same amount and date but references three or more edits apart",
         [e("GL-1", "GL", D(640) + i, day(0), "Acme Corp", f"INV-{2700 + i}"),
          e("SL-1", "SL", D(640) + i, day(0), "ACME CORPORATION", f"PO-{9100 + i}")], [])
for i in range(3):
    case("exception", f"exception-hard-missing-reference-other-party-{i:02}",
         "reference missing on the SL and the counterparty is different: no evidence, no match",
         [e("GL-1", "GL", D(150) + i, day(0), "Acme Corp", f"INV-{2800 + i}"),
          e("SL-1", "SL", D(150) + i, day(0), OTHER[i])], [], hard=True)
for i in range(2):
    case("exception", f"exception-hard-no-fx-rate-{i:02}",
         "EUR GL vs USD SL: the policy has no EUR rate, so they cannot be compared",
         [e("GL-1", "GL", D(1000), day(0), "Zorg Industries", f"EU-{i}", currency="EUR"),
          e("SL-1", "SL", D(1080), day(0), "Zorg Industries", f"EU-{i}")], [], hard=True)
for i in range(2):
    case("exception", f"exception-hard-no-fx-rate-fee-{i:02}",
         "EUR pair net of a 1.00 fee: without a EUR rate the tolerance cannot be expressed in USD",
         [e("GL-1", "GL", D(1000) + i, day(0), "Zorg Industries", f"EUF-{i}", currency="EUR"),
          e("SL-1", "SL", D(999) + i, day(0), "Zorg Industries", f"EUF-{i}", currency="EUR")], [], hard=True)
case("exact", "exact-hard-no-fx-rate-identical",
     "EUR pair with identical amounts and references: an exact match needs no conversion, so the missing EUR rate does not matter",
     [e("GL-1", "GL", D(1000), day(0), "Zorg Industries", "EUX-1", currency="EUR"),
      e("SL-1", "SL", D(1000), day(0), "Zorg Industries", "EUX-1", currency="EUR")],
     [g("exact_match", ["GL-1"], ["SL-1"])], hard=True)
for i in range(2):
    case("exception", f"exception-hard-cross-currency-over-{i:02}",
         "GBP 1000.00 dated 2026-04-01 converts at 1.2710 = 1271.00, 6.00 away from the USD 1265.00 SL: outside",
         [e("GL-1", "GL", D(1000), day(i), "Soylent PLC", f"UKO-{i}", GBP),
          e("SL-1", "SL", D("1265.00"), day(i), "Soylent plc", f"UKO-{i}", GBP, currency="USD")], [], hard=True)
case("exception", "exception-hard-before-first-rate",
     "GBP line dated 2025-12-31, before the first GBP rate: cannot be compared with the USD line",
     [e("GL-1", "GL", D(1000), "2025-12-31", "Soylent PLC", "UKB-1", GBP),
      e("SL-1", "SL", D("1265.00"), "2026-01-02", "Soylent plc", "UKB-1", GBP, currency="USD")], [], hard=True)
case("exception", "exception-zero-amounts",
     "zero-amount lines are never matched",
     [e("GL-1", "GL", D(0), day(0), "Acme Corp", "INV-0"),
      e("SL-1", "SL", D(0), day(0), "Acme Corp", "INV-0")], [])
for i in range(2):
    case("exception", f"exception-hard-multi-over-tolerance-{i:02}",
         "three SL sum 1.01 short of the GL: just outside multi_sum_tolerance",
         [e("GL-1", "GL", D("1001.01") + i, day(0), "Hooli, Inc.", f"INV-{3200 + i}"),
          e("SL-1", "SL", D(400) + i, day(0), "Hooli", None),
          e("SL-2", "SL", D(350), day(0), "Hooli", None),
          e("SL-3", "SL", D(250), day(0), "Hooli", None)], [], hard=True)
case("exception", "exception-hard-jpy-multi-over",
     "JPY sum short by 150 yen: 150 x 0.0067 = 1.005 USD > 1.00, outside",
     [e("GL-1", "GL", 100150, day(0), "Nakatomi Trading", "JPO-1", JPY),
      e("SL-1", "SL", 60000, day(0), "Nakatomi Trading", None, JPY),
      e("SL-2", "SL", 40000, day(0), "Nakatomi Trading", None, JPY)], [], hard=True)
case("exception", "exception-hard-jpy-fee-over",
     "JPY 300000 net of a 747 yen fee: 747 x 0.0067 = 5.0049 USD > 5.00, outside",
     [e("GL-1", "GL", 300000, day(0), "Nakatomi Trading", "JPE-1", JPY),
      e("SL-1", "SL", 300000 - 747, day(0), "Nakatomi Trading", "JPE-1", JPY)], [], hard=True)
case("exception", "exception-hard-gbp-fee-over",
     "GBP fee of 3.96 converted at the GL date's rate 1.2650 is 5.0094 USD > 5.00: outside",
     [e("GL-1", "GL", D(1000), day(-2), "Initech Ltd.", "UKG-1", GBP),
      e("SL-1", "SL", D("996.04"), day(2), "INITECH LIMITED", "UKG-1", GBP)], [], hard=True)
for i in range(3):
    case("exception", f"exception-lonely-{i:02}", "a GL and an SL with nothing in common",
         [e("GL-1", "GL", D(123) + i, day(0), "Acme Corp", f"INV-{3300 + i}"),
          e("SL-1", "SL", D(4567) + i, day(0), OTHER[i], f"PO-{3300 + i}")], [])
case("exception", "exception-hard-multi-mixed-currency",
     "SL lines in GBP and USD would sum to the USD GL only after conversion; multi-to-one requires one currency",
     [e("GL-1", "GL", D("1771.00"), day(2), "Soylent PLC", "UKM-1", GBP, currency="USD"),
      e("SL-1", "SL", D(1000), day(2), "Soylent plc", None, GBP),
      e("SL-2", "SL", D(500), day(2), "Soylent plc", None, GBP, currency="USD")], [], hard=True)

total = 0
hard = 0
ids = set()
for cat, items in cases.items():
    for c in items:
        assert c["id"] not in ids, c["id"]
        ids.add(c["id"])
        hard += c["description"].startswith("hard:")
    total += len(items)
    with open(os.path.join(OUT, f"{cat}.json"), "w") as f:
        json.dump(items, f, indent=1, ensure_ascii=False)
        f.write("\n")
print(f"{total} cases, {hard} hard ({100 * hard // total}%): " + ", ".join(f"{k} {len(v)}" for k, v in cases.items()))
