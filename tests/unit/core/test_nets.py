import pytest
import torch

from ednn.core.errors import EDNNError
from ednn.core.nets import GEOMETRY_ARGUMENTS, build_net, build_tile_net, net_names, net_options


@pytest.mark.parametrize("name", net_names())
def test_config_records_every_constructor_argument_and_rebuilds_the_same_network(name):
    torch.manual_seed(0)
    net = build_tile_net(name, 8, 8, ndim=2, channels=2)
    assert set(net.config) == set(net_options(name)) | {k for k in GEOMETRY_ARGUMENTS if k in net.config}
    resolved = getattr(net, "resolved_options", {})  # geometry-dependent defaults, as built
    assert {k: net.config[k] for k in net_options(name)} == {**net_options(name), **resolved}
    again = build_net(name, **net.config)
    assert again.config == net.config
    assert [p.shape for p in again.parameters()] == [p.shape for p in net.parameters()]


def test_the_dense_default_is_recorded_as_built_so_older_files_compare_equal():
    assert build_net("dense", tile=3).config["hidden"] == [288, 64, 64]
    assert build_net("dense", tile=3, hidden=(8,)).config["hidden"] == [8]


def test_options_given_are_recorded_as_plain_lists():
    net = build_tile_net("lean_cnn", 1, 1, widths=(4, 8), hidden=5)
    assert net.config["widths"] == [4, 8] and net.config["hidden"] == 5 and net.config["tile"] == 3


def test_unknown_network_or_option_is_a_one_line_error():
    with pytest.raises(EDNNError, match="unknown tile network 'nope'"):
        net_options("nope")
    with pytest.raises(EDNNError, match="tile network 'dense': .*unexpected keyword.*its options"):
        build_net("dense", tile=3, depth=4)


@pytest.mark.parametrize("hidden", [[0], [8, 0], [2.5]])
def test_a_layer_of_no_width_is_a_one_line_error(hidden):
    with pytest.raises(EDNNError, match="layer sizes must be whole numbers >= 1"):
        build_net("dense", tile=3, hidden=hidden)
