"""Reference numbers for SwarmAnalytics' validation tests, from scikit-learn and statsmodels.

Run by scripts/analytics-fixtures.sh in a throwaway venv; writes JSON fixtures that
Tests/SwarmAnalyticsTests compares against (the data itself is in the fixture, so the Swift side
needs no Python). Deterministic: fixed seeds.
"""
import json
import sys

import numpy as np
import pandas as pd
import sklearn
import statsmodels
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

out = sys.argv[1]
rng = np.random.default_rng(20261207)

# --- Isolation Forest: the multivariate view of a run --------------------------------------
# Columns: latency ms, jitter ms, loss %, hop count, dns ms, connect ms, tls ms, first byte ms, cpu %.
FEATURES = ["latency_ms", "jitter_ms", "loss_percent", "hops", "dns_ms", "connect_ms", "tls_ms",
            "first_byte_ms", "cpu_percent"]


def normal_runs(n):
    latency = rng.lognormal(np.log(20), 0.15, n)
    return np.column_stack([
        latency,
        rng.gamma(2.0, 0.6, n),
        np.where(rng.random(n) < 0.03, rng.uniform(0.5, 2, n), 0.0),
        rng.choice([8, 9, 9, 9, 10], n).astype(float),
        rng.lognormal(np.log(5), 0.3, n),
        latency * rng.uniform(0.95, 1.1, n),
        latency * rng.uniform(1.9, 2.3, n),
        rng.lognormal(np.log(60), 0.2, n),
        rng.normal(25, 8, n).clip(1, 100),
    ])


def anomalous_runs(n):
    rows = normal_runs(n)
    kind = rng.integers(0, 5, n)
    for i, k in enumerate(kind):
        if k == 0:    # congestion: latency, jitter and loss up together
            rows[i, 0] *= rng.uniform(2.5, 5); rows[i, 1] *= rng.uniform(4, 8); rows[i, 2] = rng.uniform(3, 15)
            rows[i, 5] = rows[i, 0] * 1.05; rows[i, 6] = rows[i, 0] * 2.1
        elif k == 1:  # resolver trouble
            rows[i, 4] *= rng.uniform(8, 40)
        elif k == 2:  # path change: more hops, somewhat slower
            rows[i, 3] += rng.integers(3, 7); rows[i, 0] *= 1.6; rows[i, 5] = rows[i, 0]; rows[i, 6] = rows[i, 0] * 2
        elif k == 3:  # slow application
            rows[i, 7] *= rng.uniform(4, 12)
        else:         # saturated agent host
            rows[i, 8] = rng.uniform(92, 100); rows[i, 1] *= 3; rows[i, 7] *= 1.5
    return rows


normal = normal_runs(1425)
anomalies = anomalous_runs(75)
data = np.vstack([normal, anomalies])
labels = np.concatenate([np.zeros(len(normal)), np.ones(len(anomalies))])
order = rng.permutation(len(data))
data, labels = data[order].round(4), labels[order]  # rounded as written: both sides see the same
aucs = []
for seed in range(10):
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(data)
    aucs.append(roc_auc_score(labels, -forest.score_samples(data)))
with open(f"{out}/isolation-forest.json", "w") as f:
    json.dump({
        "about": "scikit-learn IsolationForest(n_estimators=100, max_samples=256), score_samples, "
                 "ROC AUC over 10 random_state values; data: 1,425 normal runs and 75 faults",
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "features": FEATURES,
        "rows": [[float(v) for v in row] for row in data],
        "labels": [int(v) for v in labels],
        "sklearn_auc_mean": float(np.mean(aucs)),
        "sklearn_auc_by_seed": [float(a) for a in aucs],
    }, f)

# --- Holt-Winters: hourly latency with a daily cycle and a slow trend ------------------------
m = 24
hours = 24 * 21
t = np.arange(hours)
series = 20 + 0.004 * t + 4 * np.sin(2 * np.pi * t / m) + 1.5 * np.cos(4 * np.pi * t / m) + rng.normal(0, 0.6, hours)
# Known initial states, computed the way SwarmAnalytics.HoltWinters.initialState does: level =
# mean of the first season, trend = (mean of season 2 - mean of season 1) / m, seasonal = first
# season minus the level.
level0 = series[:m].mean()
trend0 = (series[m:2 * m].mean() - series[:m].mean()) / m
season0 = series[:m] - level0
horizon = 48
fit = ExponentialSmoothing(series, trend="add", seasonal="add", seasonal_periods=m,
                           initialization_method="known", initial_level=level0, initial_trend=trend0,
                           initial_seasonal=season0).fit()
params = {k: float(fit.params[k]) for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal")}
fixed = ExponentialSmoothing(series, trend="add", seasonal="add", seasonal_periods=m,
                             initialization_method="known", initial_level=level0, initial_trend=trend0,
                             initial_seasonal=season0).fit(
    smoothing_level=0.3, smoothing_trend=0.05, smoothing_seasonal=0.2, optimized=False)
# The same model as statsmodels' ETS(A,A,A) (error-correction form: beta = alpha * beta*), which
# also gives prediction intervals. ExponentialSmoothing's own forecast differs from it (and from
# the textbook recursion) at horizons that are whole seasons (h = 24, 48): ETSModel's is used, and
# the two are checked to agree everywhere else.
alpha, beta_star, gamma = params["smoothing_level"], params["smoothing_trend"], params["smoothing_seasonal"]


def ets_for(a, b_star, g):
    model = ETSModel(pd.Series(series), error="add", trend="add", seasonal="add", seasonal_periods=m,
                     initialization_method="known", initial_level=level0, initial_trend=trend0,
                     initial_seasonal=season0)
    return model.smooth([a, a * b_star, g])


whole_seasons = (np.arange(1, horizon + 1) % m) == 0
fixed_ets = ets_for(0.3, 0.05, 0.2)
fitted_ets = ets_for(alpha, beta_star, gamma)
for ets_result, hw in ((fixed_ets, fixed), (fitted_ets, fit)):
    if not np.allclose(ets_result.forecast(horizon).to_numpy()[~whole_seasons], hw.forecast(horizon)[~whole_seasons],
                       rtol=0, atol=1e-6):
        sys.exit("ETSModel and ExponentialSmoothing disagree beyond whole seasons: the parameter mapping is wrong")
frame = fitted_ets.get_prediction(start=hours, end=hours + horizon - 1).summary_frame(alpha=0.05)
with open(f"{out}/holt-winters.json", "w") as f:
    json.dump({
        "about": "statsmodels ExponentialSmoothing(trend=add, seasonal=add, 24), known initial states; "
                 "fixed parameters (0.3, 0.05, 0.2) and fitted ones (alpha, beta*, gamma); forecasts and 95% "
                 "intervals from the equivalent ETSModel(A,A,A)",
        "versions": {"statsmodels": statsmodels.__version__, "numpy": np.__version__},
        "season": m,
        "series": [float(v) for v in series],
        "horizon": horizon,
        "fixed_parameters": [0.3, 0.05, 0.2],
        "fixed_forecast": [float(v) for v in fixed_ets.forecast(horizon)],
        "fitted_parameters": [alpha, beta_star, gamma],
        "fitted_sse": float(fit.sse),
        "fitted_forecast": [float(v) for v in fitted_ets.forecast(horizon)],
        "ets_mean": [float(v) for v in frame["mean"]],
        "ets_lower_95": [float(v) for v in frame["pi_lower"]],
        "ets_upper_95": [float(v) for v in frame["pi_upper"]],
    }, f)
print(f"wrote {out}/isolation-forest.json (sklearn AUC {np.mean(aucs):.4f}) and {out}/holt-winters.json")
