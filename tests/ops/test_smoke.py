from tests.helpers import check_op


def test_mul_broadcast_matches_finite_differences_and_torch():
    check_op(lambda lib, a, b: a * b, (3, 4), (4,))


def test_matmul_then_tanh_matches_torch():
    check_op(lambda lib, a, b: (a @ b).tanh(), (3, 4), (4, 2))
