"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode as context managers
and decorators, their nesting, and their isolation across threads and asyncio tasks.

Values follow PyTorch 2.13 (reference sections 0-7); where ember differs on purpose
(asyncio isolation, async decoration, nested reuse of one instance, decorating classes,
`no_grad(1)`) the tests pin ember's behaviour.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import ember
from ember.autograd import grad_mode


@pytest.fixture(autouse=True)
def mode_is_restored():
    """Every test must leave the default mode behind (reset anyway, so one leak cannot
    cascade into the following tests)."""
    yield
    leaked = state()
    grad_mode._set_state(True, False)
    assert leaked == (True, False)


def state():
    return ember.is_grad_enabled(), ember.is_inference_mode_enabled()


@pytest.fixture
def x():
    return ember.tensor([1.0, 2.0], requires_grad=True)


# ----- defaults and the state table (section 6) -----------------------------------------
def test_default_state_is_grad_on_inference_off():
    assert state() == (True, False)


def test_no_grad_turns_grad_off_but_not_inference():
    with ember.no_grad():
        assert state() == (False, False)


def test_inference_mode_turns_grad_off_and_inference_on():
    with ember.inference_mode():
        assert state() == (False, True)


def test_enable_grad_inside_inference_mode_turns_grad_on_and_keeps_inference():
    with ember.inference_mode(), ember.enable_grad():
        assert state() == (True, True)


def test_inference_mode_false_inside_inference_mode_gives_normal_mode():
    with ember.inference_mode():
        with ember.inference_mode(False):
            assert state() == (True, False)
        assert state() == (False, True)


def test_inference_mode_false_inside_no_grad_turns_grad_on():
    with ember.no_grad():
        with ember.inference_mode(False):
            assert state() == (True, False)
        assert state() == (False, False)


# ----- no_grad (section 1) --------------------------------------------------------------
def test_no_grad_result_does_not_require_grad_and_is_a_leaf(x):
    with ember.no_grad():
        y = x * 2
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    assert ember.is_grad_enabled()


def test_no_grad_as_value_is_none():
    with ember.no_grad() as v:
        assert v is None


def test_nested_no_grad_restores_outer_state_step_by_step():
    seen = []
    with ember.no_grad():
        with ember.no_grad():
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    seen.append(ember.is_grad_enabled())
    assert seen == [False, False, True]


def test_exception_inside_no_grad_restores_mode_and_propagates():
    with pytest.raises(KeyError):
        with ember.no_grad():
            raise KeyError("boom")
    assert ember.is_grad_enabled()


def test_one_no_grad_instance_reused_sequentially():
    ng = ember.no_grad()
    seen = []
    for _ in range(2):
        with ng:
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    assert seen == [False, True, False, True]


def test_one_no_grad_instance_nested_in_itself_restores_correctly():
    # PyTorch leaves grad disabled here (it stores one `prev` per instance); ember keeps
    # a stack, so the outer exit restores the state from before the outer entry.
    ng = ember.no_grad()
    seen = []
    with ng:
        with ng:
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    seen.append(ember.is_grad_enabled())
    assert seen == [False, False, True]


def test_plain_set_grad_enabled_inside_a_block_is_undone_at_exit():
    with ember.no_grad():
        ember.set_grad_enabled(True)
        assert ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    with ember.enable_grad():
        ember.set_grad_enabled(False)
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_no_grad_result_is_a_constant_in_later_graphs():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with ember.no_grad():
        c = w * 3
    (c * w).sum().backward()
    assert w.grad.tolist() == [3.0, 6.0]


def test_backward_inside_no_grad_uses_the_graph_built_before(x):
    y = (x * 2).sum()
    with ember.no_grad():
        y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_requires_grad_set_under_no_grad_sticks_but_ops_stay_untracked():
    with ember.no_grad():
        t = ember.ones(2)
        t.requires_grad_()
        y = t * 2
    assert t.requires_grad and t.is_leaf
    assert not y.requires_grad


# ----- enable_grad (section 2) ----------------------------------------------------------
def test_enable_grad_inside_no_grad_records_a_graph():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        with ember.enable_grad():
            y = x * 2
        assert not ember.is_grad_enabled()
    assert y.requires_grad and type(y.grad_fn).__name__ == "MulBackward0"
    y.backward()
    assert x.grad.tolist() == [2.0]


def test_alternating_nesting_restores_each_level():
    seen = []
    with ember.no_grad():
        seen.append(ember.is_grad_enabled())
        with ember.enable_grad():
            seen.append(ember.is_grad_enabled())
            with ember.no_grad():
                seen.append(ember.is_grad_enabled())
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    seen.append(ember.is_grad_enabled())
    assert seen == [False, True, False, True, False, True]


# ----- set_grad_enabled (section 3) -----------------------------------------------------
def test_set_grad_enabled_plain_call_switches_immediately(x):
    try:
        result = ember.set_grad_enabled(False)
        assert not ember.is_grad_enabled()
        assert not (x * 2).requires_grad
        assert repr(result) == "ember.autograd.grad_mode.set_grad_enabled(mode=False)"
    finally:
        ember.set_grad_enabled(True)
    assert ember.is_grad_enabled()
    assert (x * 2).requires_grad


def test_set_grad_enabled_as_nested_context_managers():
    seen = []
    with ember.set_grad_enabled(False):
        seen.append(ember.is_grad_enabled())
        with ember.set_grad_enabled(True):
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    seen.append(ember.is_grad_enabled())
    assert seen == [False, True, False, True]


def test_set_grad_enabled_restores_on_exception():
    with pytest.raises(ValueError):
        with ember.set_grad_enabled(False):
            raise ValueError
    assert ember.is_grad_enabled()


@pytest.mark.parametrize("is_train", [True, False])
def test_set_grad_enabled_conditional_idiom_works_inside_no_grad(x, is_train):
    with ember.no_grad():
        with ember.set_grad_enabled(is_train):
            y = x * 2
        assert not ember.is_grad_enabled()
    assert y.requires_grad is is_train


def test_set_grad_enabled_restores_the_mode_seen_at_construction():
    ctx = ember.set_grad_enabled(False)  # switches now; prev = True
    ember.set_grad_enabled(True)
    with ember.no_grad():
        with ctx:
            assert not ember.is_grad_enabled()
        assert ember.is_grad_enabled()  # the value seen when ctx was built


def test_set_grad_enabled_decorator_leaves_the_definer_mode_alone():
    @ember.set_grad_enabled(False)
    def f():
        return ember.is_grad_enabled()

    assert ember.is_grad_enabled()
    assert f() is False
    assert ember.is_grad_enabled()


def test_set_grad_enabled_decorator_on_a_generator():
    @ember.set_grad_enabled(False)
    def gen():
        for _ in range(2):
            yield ember.is_grad_enabled()

    assert [(v, ember.is_grad_enabled()) for v in gen()] == [(False, True)] * 2


def test_set_grad_enabled_requires_a_mode():
    with pytest.raises(
        TypeError, match=r"missing 1 required positional argument: 'mode'"
    ):
        ember.set_grad_enabled()


@pytest.mark.parametrize("value, name", [(0, "int"), ("yes", "str"), (None, "NoneType")])
def test_set_grad_enabled_requires_a_real_bool(value, name):
    with pytest.raises(
        TypeError,
        match=rf"^set_grad_enabled\(\): argument 'enabled' \(position 1\) must be bool, "
        rf"not {name}$",
    ):
        ember.set_grad_enabled(value)
    assert ember.is_grad_enabled()


# ----- decorators (section 4) -----------------------------------------------------------
@pytest.mark.parametrize("make", [ember.no_grad, ember.no_grad()], ids=["bare", "called"])
def test_no_grad_decorator_with_and_without_parentheses(make):
    @make
    def f(a, b=1):
        """Docstring kept."""
        return ember.is_grad_enabled(), a + b

    assert f(1, b=2) == (False, 3)
    assert f.__name__ == "f" and f.__doc__ == "Docstring kept."
    assert ember.is_grad_enabled()


@pytest.mark.parametrize("make", [ember.enable_grad, ember.enable_grad()], ids=["bare", "called"])
def test_enable_grad_decorator_with_and_without_parentheses(make):
    @make
    def f():
        return ember.is_grad_enabled()

    with ember.no_grad():
        assert f() is True
        assert not ember.is_grad_enabled()


@pytest.mark.parametrize(
    "make, expected",
    [(ember.inference_mode, (False, True)), (ember.inference_mode(), (False, True)),
     (ember.inference_mode(False), (True, False))],
    ids=["bare", "called", "false"],
)
def test_inference_mode_decorator_forms(make, expected):
    @make
    def f():
        return state()

    assert f() == expected
    assert state() == (True, False)


def test_decorated_function_restores_mode_after_exception():
    @ember.no_grad()
    def f():
        raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        f()
    assert ember.is_grad_enabled()


def test_inference_mode_decorator_restores_after_exception():
    @ember.inference_mode()
    def f():
        raise ValueError

    with pytest.raises(ValueError):
        f()
    assert state() == (True, False)


def test_decorated_function_is_safe_for_recursion():
    @ember.no_grad()
    def depth(n):
        if n == 0:
            return ember.is_grad_enabled()
        return depth(n - 1)

    assert depth(5) is False
    assert ember.is_grad_enabled()


def test_decorated_method_and_module_forward_style(x):
    class Model:
        @ember.no_grad()
        def forward(self, t):
            return t * 2

    y = Model().forward(x)
    assert not y.requires_grad


def test_decorating_a_class_raises_type_error():
    # PyTorch wraps the constructor and warns (deprecated); ember refuses outright.
    with pytest.raises(TypeError, match="cannot decorate a class"):
        @ember.no_grad
        class A:
            pass
    with pytest.raises(TypeError, match="cannot decorate a class"):
        ember.no_grad()(type("B", (), {}))
    with pytest.raises(TypeError, match="cannot decorate a class"):
        ember.inference_mode(type("C", (), {}))


@pytest.mark.parametrize("arg", [1, True])
def test_no_grad_with_a_non_callable_argument_raises_type_error(arg):
    # PyTorch silently returns a "decorated" non-function here.
    with pytest.raises(TypeError):
        ember.no_grad(arg)


def test_inference_mode_with_an_int_raises_type_error():
    with pytest.raises(TypeError, match="must be bool, not int"):
        ember.inference_mode(1)


# ----- generators -----------------------------------------------------------------------
def test_decorated_generator_applies_mode_only_while_the_body_runs():
    @ember.no_grad()
    def gen():
        for _ in range(3):
            yield ember.is_grad_enabled()

    assert [(v, ember.is_grad_enabled()) for v in gen()] == [(False, True)] * 3


def test_bare_decorated_generator():
    @ember.no_grad
    def gen():
        yield ember.is_grad_enabled()

    g = gen()
    assert next(g) is False
    assert ember.is_grad_enabled()


def test_enable_grad_generator_consumed_inside_no_grad():
    @ember.enable_grad()
    def gen():
        for _ in range(2):
            yield ember.is_grad_enabled()

    with ember.no_grad():
        assert [(v, ember.is_grad_enabled()) for v in gen()] == [(True, False)] * 2


def test_decorated_generator_passes_send_values_through():
    @ember.no_grad()
    def gen():
        received = yield "ready"
        yield (received, ember.is_grad_enabled())

    g = gen()
    assert next(g) == "ready"
    assert g.send("hello") == ("hello", False)
    assert ember.is_grad_enabled()


def test_decorated_generator_return_value_arrives_in_stop_iteration():
    @ember.no_grad()
    def gen():
        yield 1
        return "done"

    g = gen()
    next(g)
    with pytest.raises(StopIteration) as info:
        next(g)
    assert info.value.value == "done"


def test_exception_thrown_into_decorated_generator_is_handled_under_the_mode():
    @ember.no_grad()
    def gen():
        try:
            yield 1
        except ValueError:
            yield ("caught", ember.is_grad_enabled())

    g = gen()
    next(g)
    assert g.throw(ValueError("x")) == ("caught", False)
    assert ember.is_grad_enabled()


def test_uncaught_exception_thrown_into_decorated_generator_propagates():
    @ember.no_grad()
    def gen():
        yield 1

    g = gen()
    next(g)
    with pytest.raises(ValueError, match="out"):
        g.throw(ValueError("out"))
    assert ember.is_grad_enabled()


def test_close_runs_the_generator_finally_under_the_mode():
    seen = []

    @ember.no_grad()
    def gen():
        try:
            yield 1
        finally:
            seen.append(ember.is_grad_enabled())

    g = gen()
    next(g)
    g.close()
    assert seen == [False]
    assert ember.is_grad_enabled()


def test_undecorated_generator_with_block_leaks_mode_while_suspended():
    # The contrast that makes the decorator worth having (same in PyTorch).
    def gen():
        with ember.no_grad():
            yield 1

    g = gen()
    next(g)
    assert not ember.is_grad_enabled()
    g.close()
    assert ember.is_grad_enabled()


def test_inference_mode_decorated_generator():
    @ember.inference_mode()
    def gen():
        yield state()

    assert [(v, state()) for v in gen()] == [((False, True), (True, False))]


# ----- async functions and async generators (ember applies the mode inside) -------------
def test_decorated_coroutine_runs_its_body_under_the_mode():
    # PyTorch only wraps the creation of the coroutine object (body sees True).
    @ember.no_grad()
    async def f():
        await asyncio.sleep(0)
        return ember.is_grad_enabled()

    assert asyncio.run(f()) is False
    assert ember.is_grad_enabled()


def test_bare_decorated_coroutine_with_inference_mode():
    @ember.inference_mode
    async def f():
        await asyncio.sleep(0)
        return state()

    assert asyncio.run(f()) == (False, True)


def test_decorated_async_generator_applies_mode_only_inside():
    @ember.no_grad()
    async def agen():
        for _ in range(2):
            yield ember.is_grad_enabled()
            await asyncio.sleep(0)

    async def main():
        return [(v, ember.is_grad_enabled()) async for v in agen()]

    assert asyncio.run(main()) == [(False, True)] * 2


def test_decorated_async_generator_asend_and_athrow():
    @ember.no_grad()
    async def agen():
        got = yield "ready"
        try:
            yield (got, ember.is_grad_enabled())
        except KeyError:
            yield ("caught", ember.is_grad_enabled())

    async def main():
        g = agen()
        out = [await g.asend(None), await g.asend("v"), await g.athrow(KeyError("k"))]
        out.append(ember.is_grad_enabled())
        await g.aclose()
        return out

    assert asyncio.run(main()) == ["ready", ("v", False), ("caught", False), True]


def test_asyncio_tasks_never_see_each_others_mode():
    # PyTorch shares one thread-local flag between tasks; ember's contextvars isolate them.
    # Events force the interleaving: each task checks while the other is suspended inside
    # its own mode.
    log = []

    async def in_no_grad(a_inside, b_inside, a_done):
        with ember.no_grad():
            log.append(("a-start", state()))
            a_inside.set()
            await b_inside.wait()
            log.append(("a-while-b-in-inference", state()))
        a_done.set()
        log.append(("a-end", state()))

    async def in_default(a_inside, b_inside, a_done):
        await a_inside.wait()
        log.append(("b-while-a-in-no-grad", state()))
        with ember.inference_mode():
            b_inside.set()
            await a_done.wait()
            log.append(("b-inside", state()))
        log.append(("b-end", state()))

    async def main():
        events = asyncio.Event(), asyncio.Event(), asyncio.Event()
        await asyncio.gather(in_no_grad(*events), in_default(*events))
        return state()

    assert asyncio.run(main()) == (True, False)
    assert log == [
        ("a-start", (False, False)),
        ("b-while-a-in-no-grad", (True, False)),
        ("a-while-b-in-inference", (False, False)),
        ("a-end", (True, False)),
        ("b-inside", (False, True)),
        ("b-end", (True, False)),
    ]


# ----- threads (section 5) --------------------------------------------------------------
def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_new_thread_starts_with_grad_enabled_even_inside_no_grad(x):
    with ember.no_grad():
        seen = _in_thread(lambda: (ember.is_grad_enabled(), (x * 2).requires_grad))
        assert not ember.is_grad_enabled()
    assert seen == (True, True)


def test_thread_pool_workers_start_with_grad_enabled():
    with ember.no_grad():
        with ThreadPoolExecutor(max_workers=2) as pool:
            seen = list(pool.map(lambda _: ember.is_grad_enabled(), range(4)))
    assert seen == [True] * 4


def test_set_grad_enabled_in_a_worker_does_not_affect_the_main_thread():
    _in_thread(lambda: ember.set_grad_enabled(False))
    assert ember.is_grad_enabled()


def test_main_thread_reads_its_own_mode_while_a_worker_sits_in_no_grad():
    entered, release = threading.Event(), threading.Event()

    def worker():
        with ember.no_grad():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    try:
        assert ember.is_grad_enabled()
    finally:
        release.set()
        t.join()


def test_decorated_thread_target_runs_under_its_mode():
    out = []

    @ember.no_grad()
    def target():
        out.append(ember.is_grad_enabled())

    t = threading.Thread(target=target)
    t.start()
    t.join()
    assert out == [False]


def test_thread_started_in_inference_mode_starts_in_normal_mode():
    with ember.inference_mode():
        assert _in_thread(state) == (True, False)


def test_inference_tensor_stays_inference_in_another_thread():
    with ember.inference_mode():
        it = ember.ones(2)
    assert _in_thread(it.is_inference) is True
