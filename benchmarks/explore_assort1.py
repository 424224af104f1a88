import json, time
from servicesim.scenario.schema import Scenario
from servicesim.experiment.frontier import sku_curves, best_per_sku, marginal_analysis
d = json.load(open('/work/shared/validation/network_periodic_assortment_cases.json'))
cases = {c['id']: c for c in (d['cases'] if 'cases' in d else d)}
case = cases['ASSORT1_unconstrained_cost_optimal_base_stock']
skus = case['inputs']['skus']; exp = case['expected']
total = sum(s['demand']['rate'] for s in skus)
data = {"name": "assort1",
        "run": {"horizon_days": 2000, "warmup_days": 300, "replications": 10, "seed": 11},
        "policy": {"type": "base_stock", "order_up_to": 1, "service_target": None},
        "skus": {s['id']: {"holding_cost_per_unit_per_year": s['holding_per_unit_per_day'] * 365,
                           "unit_cost": s['unit_cost'], "price": s['unit_cost'] * 1.5,
                           "supplier": {"lead_time_days": s['lead_time']['value']}} for s in skus},
        "segments": {"all": {"customers": 1, "order_interval_days": {"type": "exponential", "mean": 1 / total},
                             "sku_weights": {s['id']: s['demand']['rate'] for s in skus},
                             "reactions": {"backorder": 1.0, "switch": 0.0}}},
        "finance": {"days_per_year": 365}}
sc = Scenario.model_validate(data)
opt = {s['id']: exp[f"optimal_S.{s['id']}"] for s in skus}
levels = {k: [max(0, v + o) for o in range(-3, 4)] for k, v in opt.items()}
# distinct levels only matter; clipping at 0 repeats
t = time.time()
curves = sku_curves(sc, levels, 10, 11)
print('simulations', curves.simulations, f'{time.time()-t:.1f}s')
b = {s['id']: s['backorder_per_unit_per_day'] for s in skus}
h = {s['id']: s['holding_per_unit_per_day'] for s in skus}
costs = {k: [h[k] * r['avg_on_hand_units'] + b[k] * r['avg_backorder_units'] for r in curves.figures[k]] for k in levels}
best = best_per_sku(costs)
found = {k: levels[k][j] for k, j in best.items()}
bad = {k: (found[k], opt[k]) for k in opt if found[k] != opt[k]}
print('mismatch', bad)
tot = sum(costs[k][best[k]] for k in costs); print('total cost', tot, 'expected', exp['total_cost_rate_at_optimum'])
totopt = sum(costs[k][levels[k].index(opt[k])] for k in costs); print('cost at exact optimum', totopt)
