"""``rerankeval sandbox check``: the guarantees it states are the ones its hostile probes confirm."""

from __future__ import annotations

from click.testing import CliRunner

from rerankeval.cli.sandbox_cmd import sandbox

PROBED = (
    "read_only_filesystem",
    "no_network",
    "cannot_signal_host_processes",
    "host_files_hidden",
    "ipc_isolated",
    "capabilities_dropped",
)


def test_check_states_guarantees_and_every_claimed_one_holds_under_probe() -> None:
    result = CliRunner().invoke(sandbox, ["check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    stated = {x[5:].split()[0]: x.startswith("yes") for x in lines if x.startswith(("yes  ", "no   "))}
    probes = {x.split()[1].rstrip(":"): x.endswith("held") for x in lines if x.startswith("probe ")}
    assert stated["verdicts_decided_outside_the_program"] and stated["forged_results_rejected"]
    assert set(probes) == set(PROBED)
    for name in PROBED:
        if stated[name]:  # claimed: the probe must confirm it
            assert probes[name], f"{name} is claimed but its probe failed:\n{result.stdout}"
    if stated["expected_outputs_hidden_from_the_program"]:  # memory and disk: the disk part is probed
        assert probes["host_files_hidden"], result.stdout
