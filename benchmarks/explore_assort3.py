import json, time
from servicesim.scenario.schema import Scenario
from servicesim.experiment.frontier import sku_curves, marginal_analysis
d = json.load(open('/work/shared/validation/network_periodic_assortment_cases.json'))
cases = {c['id']: c for c in (d['cases'] if 'cases' in d else d)}
case = cases['ASSORT3_budget_max_fill_rate']
skus = case['inputs']['skus']; exp = case['expected']; budget = case['inputs']['budget']
total = sum(s['demand']['rate'] for s in skus)
data = {"name": "assort3",
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
low = {k: max(0, v - 4) for k, v in opt.items()}
levels = {k: [low[k] + i for i in range(8)] for k in opt}
t = time.time()
curves = sku_curves(sc, levels, 10, 11)
print('simulations', curves.simulations, f'{time.time()-t:.1f}s')
lam = {s['id']: s['demand']['rate'] for s in skus}; c = {s['id']: s['unit_cost'] for s in skus}
value = {k: [lam[k] * r['item_fill_rate'] / total for r in curves.figures[k]] for k in levels}
inv = {k: [r['avg_inventory_value'] for r in curves.figures[k]] for k in levels}
pick = marginal_analysis(value, inv, budget)
found = {k: levels[k][j] for k, j in pick.items()}
print('mismatch', {k: (found[k], opt[k]) for k in opt if found[k] != opt[k]})
print('fill', sum(value[k][pick[k]] for k in value), 'investment', sum(inv[k][pick[k]] for k in inv), 'budget', budget)
print('at exact opt: fill', sum(value[k][levels[k].index(opt[k])] for k in value), 'inv', sum(inv[k][levels[k].index(opt[k])] for k in inv))
print('expected', {k: v for k, v in exp.items() if not k.startswith(('optimal_S', 'SKU'))})
