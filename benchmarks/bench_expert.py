"""Expert-assessment model at issue #7 scale: 100,000 assessments × 120 centres × 150 factors (SIMULATED)."""

import time

from scipy.stats import spearmanr

from hubindex.survey.expert import ExpertConfig, fit_expert, simulate_assessments

a, f, truth = simulate_assessments(
    n_centres=120, n_factors=150, n_respondents=17000, per_respondent=5.6, seed=2
)
print(f"{len(a)} simulated assessments, {f.shape[0]} centres x {f.shape[1]} factors")


def run(cfg, label):
    t0 = time.perf_counter()
    r = fit_expert(a, f, cfg)
    dt = time.perf_counter() - t0
    rho = spearmanr(r.ratings.loc[truth.index, "rating"], truth["effect"]).statistic
    print(
        f"{label:55s} {dt:7.2f} s  kernel={r.metrics['kernel']}  spearman={rho:.3f}  cv_r2_centre={r.metrics.get('cv_r2_centre', float('nan')):.3f}"
    )
    return dt


full = run(ExpertConfig(), "default (auto kernel, 5-fold CV, sector+region sub-ratings)")
one = run(ExpertConfig(cv_folds=0, sub_ratings=()), "one fit, merged rows")
base = run(
    ExpertConfig(cv_folds=0, sub_ratings=(), target_resolution=0.0), "baseline: one fit, unmerged rows"
)
print(f"ratio baseline/merged one fit: {base / one:.1f}x")
