from tests.helpers import check_op


def test_mul_broadcast_matches_finite_differences_and_torch():
    check_op(lambda lib, a, b: a * b, (3, 4), (4,))


def test_matmul_then_tanh_matches_torch():
    check_op(lambda lib, a, b: (a @ b).tanh(), (3, 4), (4, 2))


def test_linear_backward_when_only_the_bias_requires_grad():
    import ember
    import ember.nn.functional as F

    x, w = ember.randn(3, 4), ember.randn(2, 4)
    b = ember.zeros(2, requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert b.grad.tolist() == [3.0, 3.0]
