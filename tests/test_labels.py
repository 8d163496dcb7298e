"""labels: the data's attribute combinations and the label rows drawn from them (or from the
frequencies alone, as runs saved without combinations draw them)."""

import itertools

import numpy as np
import pytest

from kerasgan import labels
from kerasgan.data import synthetic

# Hair of one colour at most: black (10), blond (01) or neither (00); never both (11).
HAIR = (("00", 0.5), ("10", 0.3), ("01", 0.2))


def test_drawn_labels_follow_the_frequencies_and_keep_each_seeds_draw():
    drawn = labels.draw_labels([0.2, 0.7, 0.0, 1.0], range(20000))
    assert drawn.dtype == np.float32 and drawn.shape == (20000, 4)
    np.testing.assert_allclose(drawn.mean(0), [0.2, 0.7, 0.0, 1.0], atol=0.01)
    # Independent attributes: the share with both of the first two is the product.
    assert abs((drawn[:, 0] * drawn[:, 1]).mean() - 0.14) < 0.01
    np.testing.assert_array_equal(labels.draw_labels([0.2, 0.7, 0.0, 1.0], [7, 11]),
                                  drawn[[7, 11]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        labels.draw_labels([0.5, 1.5], [0])


def test_label_combinations_count_the_distinct_rows_commonest_first():
    rows = np.array([[1, 0], [0, 0], [1, 0], [0, 1], [1, 0], [0, 0]], np.float32)
    assert labels.label_combinations(rows) == (("10", 0.5), ("00", 2 / 6), ("01", 1 / 6))
    assert labels.label_combinations(rows, limit=2) == (("10", 0.5), ("00", 2 / 6))
    with pytest.raises(ValueError, match=r"non-empty \[N, A\]"):
        labels.label_combinations(np.zeros((0, 2)))


def test_combinations_of_the_synthetic_faces_keep_hair_colours_apart():
    names, signs = synthetic.synthetic_attributes(range(4000))
    columns = [names.index("Black_Hair"), names.index("Blond_Hair")]
    combinations = dict(labels.label_combinations(signs[:, columns] > 0))
    assert "11" not in combinations and combinations["10"] > 0.1 and combinations["01"] > 0.1
    assert sum(combinations.values()) == pytest.approx(1.0)


def test_drawn_rows_come_in_the_datas_combinations_and_shares():
    drawn = labels.draw_labels([0.3, 0.2], range(20000), HAIR)
    codes = ["".join(str(int(v)) for v in row) for row in drawn]
    shares = {code: codes.count(code) / len(codes) for code in ("00", "10", "01", "11")}
    assert shares["11"] == 0.0
    for code, share in HAIR:
        assert shares[code] == pytest.approx(share, abs=0.01)
    np.testing.assert_array_equal(labels.draw_labels([0.3, 0.2], [5, 900], HAIR),
                                  drawn[[5, 900]])


def test_asked_values_hold_and_the_rest_follow_the_combinations_that_have_them():
    on = labels.draw_labels([0.3, 0.2], range(2000), HAIR, asked={0: 1.0})
    np.testing.assert_array_equal(on, np.tile([1.0, 0.0], (2000, 1)))  # black hair, never blond
    off = labels.draw_labels([0.3, 0.2], range(20000), HAIR, asked={0: 0.0})
    assert (off[:, 0] == 0).all()
    # Given no black hair, blond is 0.2 / (0.5 + 0.2) of the faces.
    assert off[:, 1].mean() == pytest.approx(0.2 / 0.7, abs=0.01)
    assert labels.matching_share(HAIR, {0: 0.0}) == pytest.approx(0.7)


def test_a_request_no_face_has_draws_the_rest_one_by_one():
    three = (("000", 0.6), ("110", 0.4))  # the third attribute never occurs
    asked = {2: 1.0}
    assert labels.matching_share(three, asked) == 0.0
    drawn = labels.draw_labels([0.4, 0.4, 0.0], range(50), three, asked)
    alone = labels.draw_labels([0.4, 0.4, 0.0], range(50), (), asked)
    np.testing.assert_array_equal(drawn, alone)
    assert (drawn[:, 2] == 1).all() and len({tuple(row) for row in drawn[:, :2]}) > 2


@pytest.mark.parametrize("combinations", [
    (("0", 1.0),), (("00", 0.5), ("00", 0.5)), (("0x", 1.0),), (("00", 0.0),),
    (("00", 0.8), ("11", 0.8))])
def test_bad_combinations_are_refused(combinations):
    with pytest.raises(ValueError, match="distinct codes of 2 0/1 characters"):
        labels.draw_labels([0.5, 0.5], [0], combinations)


def test_every_combination_can_be_drawn_from_uniform_shares():
    codes = ["".join(bits) for bits in itertools.product("01", repeat=3)]
    drawn = labels.draw_labels([0.5] * 3, range(4000), [(code, 1 / 8) for code in codes])
    assert {"".join(str(int(v)) for v in row) for row in drawn} == set(codes)
