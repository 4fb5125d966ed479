"""ember.utils.data: datasets, samplers, collation and the DataLoader."""

import collections
import warnings

import numpy as np
import pytest

import ember
from ember.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _xy(n=10):
    x = ember.arange(n * 2, dtype=ember.float32).reshape(n, 2)
    y = ember.arange(n)
    return x, y


# ----- datasets ------------------------------------------------------------------------------
def test_tensor_dataset_items_are_rows():
    x, y = _xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [6.0, 7.0] and yi.item() == 3


def test_tensor_dataset_rejects_different_lengths():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_base_dataset_getitem_is_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_subset_maps_indices():
    sub = Subset(Squares(10), [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i] for i in range(3)] == [49, 4, 25]


def test_concat_dataset_indexes_across_parts():
    ds = ConcatDataset([Squares(3), Squares(2)])
    assert len(ds) == 5 and ds.cumulative_sizes == [3, 5]
    assert [ds[i] for i in range(5)] == [0, 1, 4, 0, 1]
    assert ds[-1] == 1


def test_dataset_addition_concatenates():
    assert len(Squares(3) + Squares(4)) == 7


def test_concat_dataset_rejects_iterable_datasets():
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Stream(3)])


def test_concat_dataset_rejects_index_beyond_length():
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        ConcatDataset([Squares(3)])[-4]


def test_chain_dataset_streams_one_after_another():
    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2]


# ----- random_split ------------------------------------------------------------------------
def test_random_split_by_lengths_is_a_partition():
    a, b = random_split(Squares(10), [7, 3], generator=ember.Generator().manual_seed(0))
    assert (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))


def test_random_split_by_fractions_deals_out_the_remainder():
    parts = random_split(Squares(10), [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(Squares(11), [0.5, 0.5])
    assert [len(p) for p in parts] == [6, 5]


def test_random_split_with_a_seeded_generator_is_reproducible():
    first = random_split(Squares(20), [10, 10], generator=ember.Generator().manual_seed(3))
    again = random_split(Squares(20), [10, 10], generator=ember.Generator().manual_seed(3))
    assert first[0].indices == again[0].indices
    assert first[0].indices != list(range(10))


def test_random_split_rejects_wrong_total():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(Squares(10), [5, 4])


# ----- samplers ------------------------------------------------------------------------------
def test_sequential_sampler_counts_up():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]


def test_random_sampler_is_a_permutation():
    order = list(RandomSampler(range(50)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert all(type(i) is int for i in order)


def test_random_sampler_with_generator_is_reproducible():
    a = list(RandomSampler(range(30), generator=ember.Generator().manual_seed(1)))
    b = list(RandomSampler(range(30), generator=ember.Generator().manual_seed(1)))
    assert a == b


def test_random_sampler_follows_the_global_seed():
    ember.manual_seed(5)
    a = list(RandomSampler(range(30)))
    ember.manual_seed(5)
    b = list(RandomSampler(range(30)))
    assert a == b


def test_random_sampler_with_replacement_draws_num_samples():
    s = RandomSampler(range(3), replacement=True, num_samples=20)
    order = list(s)
    assert len(s) == 20 and len(order) == 20 and set(order) <= {0, 1, 2}


def test_random_sampler_num_samples_beyond_length_repeats_permutations():
    order = list(RandomSampler(range(4), num_samples=10))
    assert len(order) == 10
    assert sorted(order[:4]) == [0, 1, 2, 3] and sorted(order[4:8]) == [0, 1, 2, 3]


def test_subset_random_sampler_shuffles_the_given_indices():
    order = list(SubsetRandomSampler([10, 20, 30, 40]))
    assert sorted(order) == [10, 20, 30, 40]


def test_weighted_sampler_never_draws_zero_weight():
    order = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 100))
    assert set(order) <= {1, 3}


def test_batch_sampler_groups_indices():
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3
    assert len(BatchSampler(range(7), 3, True)) == 2


def test_batch_sampler_over_a_plain_iterable():
    assert list(BatchSampler([5, 4, 3], 2, False)) == [[5, 4], [3]]


def test_batch_sampler_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)


# ----- collation ---------------------------------------------------------------------------
def test_collate_stacks_tensors():
    batch = default_collate([ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])])
    assert batch.shape == (2, 2) and batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_collate_numbers_and_numpy():
    assert default_collate([1, 2]).dtype == ember.int64
    assert default_collate([1.5, 2.0]).dtype == ember.float64
    assert default_collate([True, False]).dtype == ember.bool
    arrays = default_collate([np.zeros(3, np.float32), np.ones(3, np.float32)])
    assert arrays.shape == (2, 3) and arrays.dtype == ember.float32
    assert default_collate([np.float32(1), np.float32(2)]).dtype == ember.float32


def test_collate_recurses_into_tuples_dicts_and_keeps_strings():
    batch = default_collate([(ember.zeros(2), 1, "a"), (ember.ones(2), 2, "b")])
    assert isinstance(batch, list)
    assert batch[0].shape == (2, 2) and batch[1].tolist() == [1, 2] and batch[2] == ["a", "b"]
    d = default_collate([{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": [3, 4]}])
    assert d["x"].tolist() == [1.0, 2.0]
    assert [t.tolist() for t in d["y"]] == [[1, 3], [2, 4]]


def test_collate_keeps_namedtuples():
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(batch, Point) and batch.x.tolist() == [1, 3]


def test_collate_rejects_tensors_of_different_shapes():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size"):
        default_collate([ember.zeros(2), ember.zeros(3)])


def test_collate_rejects_unsupported_types():
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_convert_turns_arrays_into_tensors_without_batching():
    out = default_convert((np.arange(3), "s"))
    assert isinstance(out, list) and isinstance(out[0], ember.Tensor) and out[1] == "s"


# ----- DataLoader ------------------------------------------------------------------------
def test_loader_batches_in_order():
    x, y = _xy()
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert len(batches) == 3
    xb, yb = batches[0]
    assert xb.shape == (4, 2) and yb.tolist() == [0, 1, 2, 3]
    assert batches[2][1].tolist() == [8, 9]


def test_loader_len_counts_batches():
    ds = TensorDataset(*_xy())
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=None)) == 10


def test_loader_drop_last_drops_the_short_batch():
    batches = list(DataLoader(TensorDataset(*_xy()), batch_size=4, drop_last=True))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_shuffle_visits_every_sample_once():
    ys = [b[1] for b in DataLoader(TensorDataset(*_xy()), batch_size=3, shuffle=True)]
    seen = sorted(v for t in ys for v in t.tolist())
    assert seen == list(range(10))


def test_loader_shuffle_with_seeded_generator_is_reproducible():
    ds = TensorDataset(*_xy(20))

    def order(seed):
        loader = DataLoader(ds, batch_size=5, shuffle=True,
                            generator=ember.Generator().manual_seed(seed))
        return [v for _, y in loader for v in y.tolist()]

    assert order(0) == order(0)
    assert order(0) != order(1)


def test_loader_shuffle_follows_manual_seed_and_changes_per_epoch():
    loader = DataLoader(TensorDataset(*_xy(20)), batch_size=5, shuffle=True)

    def epoch():
        return [v for _, y in loader for v in y.tolist()]

    ember.manual_seed(0)
    first, second = epoch(), epoch()
    ember.manual_seed(0)
    assert epoch() == first and epoch() == second
    assert first != second


def test_loader_fast_path_equals_stacking_samples():
    x, y = _xy(9)
    ds = Subset(TensorDataset(x, y), [8, 1, 4, 3, 0])
    fast = list(DataLoader(ds, batch_size=2))
    slow = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: default_collate(b)))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.tolist() == sx.tolist() and fy.tolist() == sy.tolist()
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
    assert fast[0][1].tolist() == [8, 1]


def test_loader_on_a_plain_map_dataset():
    batches = list(DataLoader(Squares(5), batch_size=2))
    assert [b.tolist() for b in batches] == [[0, 1], [4, 9], [16]]


def test_loader_without_batching_converts_samples():
    items = list(DataLoader(Squares(3), batch_size=None))
    assert items == [0, 1, 4]


def test_loader_custom_collate_fn():
    loader = DataLoader(Squares(4), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 13]


def test_loader_with_sampler():
    loader = DataLoader(Squares(5), batch_size=2, sampler=[4, 3, 2])
    assert [b.tolist() for b in loader] == [[16, 9], [4]]


def test_loader_with_batch_sampler():
    loader = DataLoader(Squares(5), batch_sampler=[[0, 4], [2]])
    assert [b.tolist() for b in loader] == [[0, 16], [4]]
    assert len(loader) == 2


def test_loader_over_iterable_dataset():
    loader = DataLoader(Stream(5), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    assert len(loader) == 3
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [
        [0, 1], [2, 3]]


def test_loader_rejects_shuffle_for_iterable_dataset():
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)


def test_loader_rejects_sampler_with_shuffle():
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(Squares(3), sampler=[0, 1], shuffle=True)


def test_loader_rejects_batch_sampler_with_batch_size():
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(Squares(3), batch_sampler=[[0]], batch_size=2)


def test_loader_rejects_drop_last_without_batching():
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(Squares(3), batch_size=None, drop_last=True)


def test_loader_rejects_negative_workers():
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(Squares(3), num_workers=-1)


def test_loader_with_workers_warns_and_loads_in_process():
    with pytest.warns(UserWarning, match="num_workers=2 is ignored"):
        loader = DataLoader(Squares(4), batch_size=2, num_workers=2)
    assert [b.tolist() for b in loader] == [[0, 1], [4, 9]]


def test_loader_without_workers_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(DataLoader(TensorDataset(*_xy()), batch_size=3, shuffle=True))


def test_loader_options_are_frozen_after_construction():
    loader = DataLoader(Squares(3))
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 4


def test_loader_batches_of_trainable_tensors_keep_the_graph():
    x = ember.ones(4, 2, requires_grad=True)
    xb, = next(iter(DataLoader(TensorDataset(x), batch_size=4)))
    xb.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0]] * 4


def test_get_worker_info_is_none():
    assert get_worker_info() is None


def test_training_loop_over_a_loader():
    x = ember.randn(32, 3, generator=ember.Generator().manual_seed(0))
    y = x @ ember.tensor([[1.0], [-2.0], [0.5]])
    w = ember.zeros(3, 1, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    for _ in range(30):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True):
            opt.zero_grad()
            ((xb @ w - yb) ** 2).mean().backward()
            opt.step()
    np.testing.assert_allclose(w.detach().numpy().ravel(), [1.0, -2.0, 0.5], atol=1e-3)
