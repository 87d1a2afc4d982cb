"""Unit tests of bench/traffic.py's report helpers (python3 bench/test_traffic.py; .ci/run runs it)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import traffic  # noqa: E402


def rec(batch, precision, mode, dense, score, error=0.0, unit="ms/op"):
    return {"params": {"batch": str(batch), "precision": precision, "mode": mode, "dense": dense},
            "primaryMetric": {"score": score, "scoreError": error, "scoreUnit": unit}}


class DenseVerdict(unittest.TestCase):
    def test_cublaslt_becomes_the_default_only_if_faster_beyond_error_at_every_fp32_graph_batch(self):
        steps = [rec(128, "fp32", "graph", "hand", 0.080, 0.001), rec(128, "fp32", "graph", "lt", 0.050, 0.001),
                 rec(8192, "fp32", "graph", "hand", 0.80, 0.01), rec(8192, "fp32", "graph", "lt", 0.70, 0.01)]
        rows, default = traffic.dense_verdict(steps)
        self.assertEqual([r[6] for r in rows], ["cuBLASLt faster", "cuBLASLt faster"])
        self.assertAlmostEqual(rows[0][5], 0.625)
        self.assertTrue(default.startswith("cuBLASLt"), default)

    def test_one_batch_within_error_keeps_the_hand_written_default(self):
        steps = [rec(128, "fp32", "graph", "hand", 0.080, 0.002), rec(128, "fp32", "graph", "lt", 0.079, 0.002),
                 rec(8192, "fp32", "graph", "hand", 0.80, 0.01), rec(8192, "fp32", "graph", "lt", 0.70, 0.01)]
        rows, default = traffic.dense_verdict(steps)
        self.assertEqual([r[6] for r in rows], ["within error", "cuBLASLt faster"])
        self.assertTrue(default.startswith("hand-written"), default)

    def test_units_are_normalised_and_eager_or_tf32_rows_do_not_decide(self):
        steps = [rec(128, "fp32", "graph", "hand", 80.0, 1.0, "us/op"), rec(128, "fp32", "graph", "lt", 0.100, 0.001),
                 rec(128, "tf32", "graph", "hand", 0.080), rec(128, "tf32", "graph", "lt", 0.040)]
        rows, default = traffic.dense_verdict(steps)
        self.assertEqual(rows[0][:3], (128, "fp32", "graph"))
        self.assertAlmostEqual(rows[0][3], 0.080)
        self.assertEqual(rows[0][6], "hand-written faster")
        self.assertTrue(default.startswith("hand-written"), default)

    def test_no_pair_decides_nothing(self):
        rows, default = traffic.dense_verdict([rec(128, "fp32", "graph", "hand", 0.08)])
        self.assertEqual(rows, [])
        self.assertTrue(default.startswith("not decided"), default)


if __name__ == "__main__":
    unittest.main()
