#!/usr/bin/env python3
"""Generate config/demo-providers.csv, the demo catalog of kezekd.

Why: `make run` loads this catalog (the `catalog` setting) so a fresh daemon has realistic
providers to book: 1,000 after-school clubs and sections across Almaty's 8 districts, with
capacities that add up to EXACTLY 65,739 seats (tests and demos rely on that total).

Deterministic: a fixed seed and no hash-ordered iteration, so rerunning it rewrites the same
bytes. Usage:  python3 scripts/gen-demo-catalog.py [OUT]   (default config/demo-providers.csv)

Columns: provider,capacity,district,name. Provider ids match [A-Za-z0-9_.:@-]{1,64}
(`<district>.<kind>-<NN>`); names hold spaces but no commas.
"""
import random
import sys

SEED = 20240915
TOTAL = 65739
PER_DISTRICT = 125
LO, HI = 10, 300          # capacity bounds of ordinary clubs
BIG_LO, BIG_HI = 400, 900  # the few large sports schools (one per district)

DISTRICTS = ["Alatau", "Almaly", "Auezov", "Bostandyk", "Zhetysu", "Medeu", "Nauryzbay", "Turksib"]

# kind slug (in the id), display name, typical capacity range, relative frequency
KINDS = [
    ("chess", "Chess Club", 12, 45, 8),
    ("togyz", "Togyz Kumalak Circle", 10, 30, 3),
    ("football", "Youth Football Section", 40, 240, 8),
    ("kuresi", "Kazakh Kuresi Wrestling Section", 20, 100, 4),
    ("wrestling", "Freestyle Wrestling Section", 20, 100, 3),
    ("boxing", "Boxing Section", 20, 90, 5),
    ("swimming", "Swimming Section", 30, 180, 5),
    ("folkdance", "Folk Dance Ensemble", 20, 120, 5),
    ("dance", "Modern Dance Studio", 20, 120, 5),
    ("dombyra", "Dombyra Ensemble", 10, 50, 5),
    ("piano", "Piano Studio", 10, 40, 3),
    ("choir", "Children's Choir", 20, 80, 3),
    ("art", "Art Studio", 10, 50, 6),
    ("ceramics", "Ceramics Workshop", 10, 30, 2),
    ("robotics", "Robotics Lab", 10, 40, 5),
    ("coding", "Programming Club", 12, 40, 4),
    ("english", "English Language Club", 12, 45, 6),
    ("debate", "Debate Club", 12, 40, 2),
    ("math", "Olympiad Math Circle", 12, 40, 6),
    ("theatre", "Children's Theatre", 15, 80, 4),
    ("tabletennis", "Table Tennis Section", 15, 70, 3),
    ("basketball", "Basketball Section", 25, 140, 3),
    ("volleyball", "Volleyball Section", 25, 140, 3),
    ("judo", "Judo and Sambo Section", 20, 130, 4),
    ("taekwondo", "Taekwondo Section", 20, 130, 3),
    ("hockey", "Ice Hockey Section", 30, 160, 2),
    ("naturalists", "Young Naturalists Club", 15, 60, 2),
    ("orienteering", "Tourism and Orienteering Club", 15, 90, 2),
]
BIG = ("sportschool", "Children's and Youth Sports School")


def main(out_path):
    rng = random.Random(SEED)
    weights = [k[4] for k in KINDS]
    rows = []  # [provider, capacity, district, name, lo, hi]
    for district in DISTRICTS:
        slug = district.lower()
        counters = {}
        # one large sports school per district
        rows.append([f"{slug}.{BIG[0]}-01", rng.randint(BIG_LO, BIG_HI), district,
                     f"{district} {BIG[1]} No. 1", BIG_LO, BIG_HI])
        for _ in range(PER_DISTRICT - 1):
            kind, label, lo, hi, _w = rng.choices(KINDS, weights=weights)[0]
            n = counters.get(kind, 0) + 1
            counters[kind] = n
            # skew toward the low end: most clubs are small
            cap = int(lo + (hi - lo) * rng.random() ** 1.2)
            name = f"{district} {label} No. {n}"
            rows.append([f"{slug}.{kind}-{n:02d}", cap, district, name, LO, HI])

    # Scale to the target total, then settle the rounding remainder one seat at a time.
    raw = sum(r[1] for r in rows)
    for r in rows:
        r[1] = min(r[5], max(r[4], round(r[1] * TOTAL / raw)))
    order = list(range(len(rows)))
    rng.shuffle(order)
    diff = TOTAL - sum(r[1] for r in rows)
    while diff:
        step = 1 if diff > 0 else -1
        moved = False
        for i in order:
            r = rows[i]
            if diff and r[4] <= r[1] + step <= r[5]:
                r[1] += step
                diff -= step
                moved = True
        if not moved:
            sys.exit("cannot reach the target total within the capacity bounds")

    assert sum(r[1] for r in rows) == TOTAL
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("provider,capacity,district,name\n")
        for r in rows:
            assert "," not in r[3] and len(r[0]) <= 64
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]}\n")
    print(f"{out_path}: {len(rows)} providers, {TOTAL} seats (scale {TOTAL / raw:.2f})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "config/demo-providers.csv")
