import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy import stats

import quotientlearn as ql
from quotientlearn import datasets, sgd


def _objectives(rng, n_seeds=3):
    relu = ql.models.ShallowReLU(3, 16)
    attention = ql.models.Attention(6, 3)
    completion = datasets.low_rank_completion(n_seeds, rng, (8, 7), (3.0, 1.0), 0.5)
    spectral = datasets.sparse_cosine_regression(n_seeds, rng, n_features=16, n_train=10)
    basis = np.eye(16) + 0.1 * rng.standard_normal((16, 16))
    return {
        "relu": sgd.TeacherStudentReLU(relu, datasets.relu_teacher(relu, n_seeds, rng), 8, 0.1),
        "attention": sgd.TeacherStudentAttention(
            attention, datasets.attention_teacher(attention, n_seeds, rng), 4, 5, 0.02),
        "completion": sgd.MaskedFactorization(ql.models.MatrixFactorization(8, 7, 4),
                                              completion.target, completion.mask, 0.4),
        "linear_l1": sgd.FeatureRegression(spectral.features, spectral.targets, l1=0.1),
        "hadamard_minibatch": sgd.FeatureRegression(spectral.features, spectral.targets,
                                                    ql.models.Hadamard(16), batch_size=4),
        "cumsum": sgd.FeatureRegression(spectral.features, spectral.targets,
                                        ql.models.CumsumHadamard(16)),
        "basis": sgd.FeatureRegression(spectral.features, spectral.targets,
                                       ql.models.BasisHadamard(basis)),
        "diagonal_net": sgd.FeatureRegression(spectral.features, spectral.targets,
                                              ql.models.DiagonalNet(16, 3), l1=0.05),
    }


@pytest.mark.parametrize("name", ["relu", "attention", "completion", "linear_l1",
                                  "hadamard_minibatch", "cumsum", "basis", "diagonal_net"])
def test_closed_form_gradient_matches_autograd(name):
    rng = np.random.default_rng(7)
    objective = _objectives(rng)[name]
    theta = 0.5 * rng.standard_normal((objective.n_seeds, objective.dim))
    batch = objective.sample_batch(rng)
    closed = objective.gradient(theta, batch)
    auto = autograd.grad(lambda t: anp.sum(objective.loss(t, batch)))(theta)
    assert closed.shape == (objective.n_seeds, objective.dim)
    np.testing.assert_allclose(closed, auto, rtol=1e-10, atol=1e-12 * np.abs(auto).max())


@pytest.mark.parametrize("name", ["hadamard_minibatch", "cumsum", "basis", "diagonal_net"])
def test_reparameterised_weights_are_the_models_predictor(name):
    rng = np.random.default_rng(0)
    objective = _objectives(rng)[name]
    theta = rng.standard_normal((objective.n_seeds, objective.dim))
    np.testing.assert_allclose(objective.weights(theta), objective.model.predictor(theta),
                               rtol=1e-14)


def test_full_batch_gd_is_the_same_per_seed_as_vectorised():
    # Full-batch GD draws no randomness, so each seed's slice of a vectorised run must equal the
    # run of that seed alone, bit for bit.
    problem = datasets.sparse_cosine_regression(4, 3, n_features=12, n_train=8)
    model = ql.models.Hadamard(12)
    theta0 = 0.1 * np.random.default_rng(4).standard_normal((4, 24))
    together = sgd.train(sgd.FeatureRegression(problem.features, problem.targets, model),
                         theta0, 1e-2, 300, np.random.default_rng(0)).theta
    for s in range(4):
        alone = sgd.train(sgd.FeatureRegression(problem.features[s:s + 1],
                                                problem.targets[s:s + 1], model),
                          theta0[s:s + 1], 1e-2, 300, np.random.default_rng(0)).theta
        np.testing.assert_array_equal(together[s:s + 1], alone)


def test_gd_on_overdetermined_least_squares_reaches_the_lstsq_solution():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((3, 40, 5))
    targets = rng.standard_normal((3, 40))
    result = sgd.train(sgd.FeatureRegression(features, targets), np.zeros((3, 5)), 0.05, 2000,
                       np.random.default_rng(0))
    for s in range(3):
        expected = np.linalg.lstsq(features[s], targets[s], rcond=None)[0]
        np.testing.assert_allclose(result.theta[s], expected, atol=1e-9)


def test_one_sgd_step_scales_the_hadamard_charge_by_one_minus_lr2_g2():
    # The identity behind the hyperbola experiment: (u, v) -> (u - lr g v, v - lr g u) gives
    # u'^2 - v'^2 = (1 - lr^2 g^2)(u^2 - v^2), with g = dL/dbeta = 2 (u v - y) here.
    rng = np.random.default_rng(2)
    theta = rng.standard_normal((5, 2))
    targets = rng.standard_normal((5, 1))
    objective = sgd.FeatureRegression(np.ones((5, 1, 1)), targets, ql.models.Hadamard(1))
    lr = 0.05
    after = sgd.train(objective, theta, lr, 1, np.random.default_rng(0)).theta
    g = 2.0 * (theta[:, 0] * theta[:, 1] - targets[:, 0])
    np.testing.assert_allclose(after[:, 0] ** 2 - after[:, 1] ** 2,
                               (1 - lr**2 * g**2) * (theta[:, 0] ** 2 - theta[:, 1] ** 2),
                               rtol=1e-12)


def test_records_follow_the_schedule():
    problem = datasets.sparse_cosine_regression(2, 0, n_features=8, n_train=6)
    result = sgd.train(sgd.FeatureRegression(problem.features, problem.targets),
                       np.zeros((2, 8)), 1e-2, 250, np.random.default_rng(0),
                       record=lambda theta: {"norm": np.linalg.norm(theta, axis=-1)},
                       record_every=100)
    np.testing.assert_array_equal(result.record_steps, [0, 100, 200, 250])
    assert result.records["norm"].shape == (4, 2)
    assert np.all(result.records["norm"][0] == 0)
    np.testing.assert_allclose(result.records["norm"][-1], np.linalg.norm(result.theta, axis=-1))


@pytest.mark.slow
def test_langevin_stationary_law_is_the_gibbs_gaussian(sized):
    # L(w) = (w - y)^2 (one sample, feature 1): the Langevin law is exp(-L/T) = N(y, T/2). The
    # Euler-Maruyama chain has stationary variance T / (2 (1 - lr)): with lr = 1e-3 the relative bias
    # (1e-3) is far below what KS resolves at these sizes (~ 1/sqrt(n) > 1%). 5000 steps are 10
    # relaxation times 1/(2 lr); particles are independent seeds, so final states are i.i.d.
    n = sized(full=20_000, ci=4_000)
    temperature, target, lr = 0.2, 0.7, 1e-3
    objective = sgd.FeatureRegression(np.ones((n, 1, 1)), np.full((n, 1), target))
    final = sgd.train(objective, np.zeros((n, 1)), lr, 5_000, np.random.default_rng(11),
                      temperature=temperature).theta[:, 0]
    right = stats.kstest(final, stats.norm(target, np.sqrt(temperature / 2)).cdf)
    assert right.pvalue > 0.01
    # Power: the same test rejects the law with the temperature off by a factor 2.
    wrong = stats.kstest(final, stats.norm(target, np.sqrt(temperature)).cdf)
    assert wrong.pvalue < 1e-3


def test_label_noise_sgd_has_the_exact_discrete_stationary_law():
    # L(w) = (w - y)^2 with fresh label noise sigma: w' = (1 - 2 lr) w + 2 lr (y + sigma eps), an
    # AR(1) chain whose stationary law is exactly N(y, lr sigma^2 / (1 - lr)) (no discretisation
    # bias to control). 3000 steps at lr = 0.01 are 60 relaxation times.
    n, lr, sigma, target = 4_000, 0.01, 0.5, -0.3
    objective = sgd.FeatureRegression(np.ones((n, 1, 1)), np.full((n, 1), target),
                                      label_noise=sigma)
    final = sgd.train(objective, np.zeros((n, 1)), lr, 3_000, np.random.default_rng(5)).theta[:, 0]
    scale = np.sqrt(lr * sigma**2 / (1 - lr))
    assert stats.kstest(final, stats.norm(target, scale).cdf).pvalue > 0.01
    # Power: the same test rejects the law with half that variance.
    assert stats.kstest(final, stats.norm(target, scale / np.sqrt(2)).cdf).pvalue < 1e-3


def test_bad_arguments_are_refused():
    rng = np.random.default_rng(0)
    objective = _objectives(rng)["linear_l1"]
    theta = np.zeros((objective.n_seeds, objective.dim))
    with pytest.raises(ValueError, match="theta0 must have shape"):
        sgd.train(objective, theta[:, :3], 1e-3, 10, rng)
    with pytest.raises(ValueError, match="lr must be finite and positive"):
        sgd.train(objective, theta, -1.0, 10, rng)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        sgd.train(objective, theta, 1e-3, 0, rng)
    with pytest.raises(ValueError, match="temperature"):
        sgd.train(objective, theta, 1e-3, 10, rng, temperature=-1.0)
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        sgd.train(objective, theta, 1e-3, 10, 1.5)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        sgd.FeatureRegression(objective.features, objective.targets, batch_size=1000)
    with pytest.raises(ValueError, match="label_noise"):
        sgd.FeatureRegression(objective.features, objective.targets, label_noise=-1.0)
    with pytest.raises(ValueError, match=r"model must predict the 16 weights, beta_shape \(16,\)"):
        sgd.FeatureRegression(objective.features, objective.targets, ql.models.Hadamard(3))
    with pytest.raises(ValueError, match="teacher must have shape"):
        sgd.TeacherStudentReLU(ql.models.ShallowReLU(3, 4), np.zeros((2, 5)), 8, 0.1)
    with pytest.raises(ValueError, match="mask must hold"):
        sgd.MaskedFactorization(ql.models.MatrixFactorization(2, 2, 1), np.zeros((1, 2, 2)),
                                np.ones((1, 4)))
    with pytest.raises(ValueError, match="at least one entry"):
        sgd.MaskedFactorization(ql.models.MatrixFactorization(2, 2, 1), np.zeros((1, 2, 2)),
                                np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="step_fraction"):
        sgd.MaskedFactorization(ql.models.MatrixFactorization(2, 2, 1), np.zeros((1, 2, 2)),
                                np.ones((1, 2, 2)), 0.0)
    with pytest.raises(ValueError, match="sampling"):
        sgd.MaskedFactorization(ql.models.MatrixFactorization(2, 2, 1), np.zeros((1, 2, 2)),
                                np.ones((1, 2, 2)), 0.5, "poisson")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_reported():
    objective = sgd.FeatureRegression(np.full((1, 1, 1), 10.0), np.ones((1, 1)))
    with pytest.raises(FloatingPointError, match="diverged"):
        sgd.train(objective, np.zeros((1, 1)), 1.0, 5_000, np.random.default_rng(0))
    # the one divergence error of the engine, naming the step and the step size by its name
    with pytest.raises(ql.DivergenceError, match=r"diverged at step \d+ .*use a smaller lr") as info:
        sgd.train(objective, np.zeros((1, 1)), 1.0, 5_000, 0)
    assert "drop_diverged" not in str(info.value)


def test_an_int_seed_is_the_generator_it_seeds():
    problem = datasets.sparse_cosine_regression(2, 0, n_features=8, n_train=6)
    objective = sgd.FeatureRegression(problem.features, problem.targets, batch_size=3)
    theta0 = np.zeros((2, 8))
    by_int = sgd.train(objective, theta0, 1e-2, 50, 4, temperature=0.1).theta
    by_generator = sgd.train(objective, theta0, 1e-2, 50, np.random.default_rng(4),
                             temperature=0.1).theta
    np.testing.assert_array_equal(by_int, by_generator)
    assert not np.array_equal(by_int, sgd.train(objective, theta0, 1e-2, 50, 5, temperature=0.1).theta)


def test_attention_output_is_the_papers_head():
    # softmax(X W_Q (X W_K)^T / sqrt(d_head)) X W_V, written out directly from the named blocks.
    rng = np.random.default_rng(5)
    model = ql.models.Attention(6, 3)
    objective = sgd.TeacherStudentAttention(model, datasets.attention_teacher(model, 2, rng), 4, 5,
                                            0.0)
    theta = rng.standard_normal((2, model.dim))
    inputs, targets = objective.sample_batch(rng)
    blocks = model.space.split(theta)
    queries = np.einsum("sble,seh->sblh", inputs, blocks["W_Q"])
    keys = np.einsum("sble,seh->sblh", inputs, blocks["W_K"])
    values = np.einsum("sble,seh->sblh", inputs, blocks["W_V"])
    scores = np.einsum("sbih,sbjh->sbij", queries, keys) / np.sqrt(3)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    expected = weights @ values
    assert expected.shape == (2, 4, 5, 3) and targets.shape == expected.shape
    np.testing.assert_allclose(model.output(theta, inputs), expected, rtol=1e-12)
    # One sequence batch shared by every theta broadcasts too.
    shared = np.broadcast_to(inputs[0], inputs.shape)
    np.testing.assert_allclose(model.output(theta, inputs[0]), model.output(theta, shared),
                               rtol=1e-12)
    # The loss is the mean over all B * L * d_head entries.
    np.testing.assert_allclose(objective.loss(theta, (inputs, targets)),
                               np.mean((expected - targets) ** 2, axis=(1, 2, 3)), rtol=1e-12)


def test_completion_batches_sample_the_observed_entries_as_stated():
    rng = np.random.default_rng(11)
    problem = datasets.low_rank_completion(6, rng, (10, 10), (3.0,), 0.3, sampling="bernoulli")
    model = ql.models.MatrixFactorization(10, 10, 2)
    n_observed = problem.mask.sum(axis=(-2, -1))
    exact = sgd.MaskedFactorization(model, problem.target, problem.mask, 0.5, "exact")
    bernoulli = sgd.MaskedFactorization(model, problem.target, problem.mask, 0.5, "bernoulli")
    counts = []
    for _ in range(200):
        batch = exact.sample_batch(rng)
        assert np.all(batch <= problem.mask)
        np.testing.assert_array_equal(batch.sum(axis=(-2, -1)), np.round(0.5 * n_observed))
        batch = bernoulli.sample_batch(rng)
        assert np.all(batch <= problem.mask)
        counts.append(batch.sum(axis=(-2, -1)))
    # Bernoulli(0.5) per observed entry: the total kept over 200 steps is Binomial(200 n_obs, 0.5).
    kept, trials = int(np.sum(counts)), 200 * int(n_observed.sum())
    assert stats.binomtest(kept, trials, 0.5).pvalue > 0.01
    # Power: the same test rejects a keep probability of 0.45.
    assert stats.binomtest(kept, trials, 0.45).pvalue < 1e-6
    # Counts vary between steps (unlike exact sampling).
    assert np.std(np.asarray(counts)[:, 0]) > 0


def test_a_users_objective_needs_only_a_loss():
    # Objective's default gradient is autograd's: a user's least-squares objective trains exactly
    # like FeatureRegression's closed form; one written with plain numpy is refused with the fix.
    problem = datasets.sparse_cosine_regression(3, 0, n_features=8, n_train=6)

    class LeastSquares(sgd.Objective):
        n_seeds, dim = 3, 8

        def sample_batch(self, rng):
            return problem.features, problem.targets

        def loss(self, theta, batch):
            features, targets = batch
            return anp.mean((anp.einsum("snk,sk->sn", features, theta) - targets) ** 2, axis=-1)

    theta0 = np.zeros((3, 8))
    mine = sgd.train(LeastSquares(), theta0, 1e-2, 200, 0).theta
    closed = sgd.train(sgd.FeatureRegression(problem.features, problem.targets), theta0, 1e-2, 200,
                       0).theta
    np.testing.assert_allclose(mine, closed, rtol=1e-12, atol=1e-14)

    class PlainNumpy(LeastSquares):
        def loss(self, theta, batch):
            features, targets = batch
            return np.mean((np.einsum("snk,sk->sn", features, theta) - targets) ** 2, axis=-1)

    with pytest.raises(TypeError, match="PlainNumpy.loss cannot be differentiated by autograd"):
        sgd.train(PlainNumpy(), theta0, 1e-2, 5, 0)
