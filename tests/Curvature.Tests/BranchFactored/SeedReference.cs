namespace Curvature.Tests.BranchFactored;

/// <summary>
/// A dense float64 transcription of the seed's <c>HCKFACLike.step_params</c> formulas, given the projection P:
/// C = cov(B) + damp·I; blocks = max(1, min(blocks, D)); sizes D // blocks with the first D % blocks one larger;
/// g_state = Pᵀ g; v = solve(blockdiag(C_bb), g_state) (a dense solve of the block-diagonal matrix);
/// precond = P v; θ' = clip(θ − lr·precond).
/// </summary>
internal static class SeedReference
{
    public static (double[] Theta, double PrecondNorm) Step(
        double[] theta, double[] g, double[,]? branches, double[,]? projection, double lr, double damp, int blocks, double? clip)
    {
        double[] precond;
        if (branches is null)
        {
            precond = (double[])g.Clone();
        }
        else
        {
            int d = branches.GetLength(1);
            var c = DenseOracle.Covariance(branches);
            for (int i = 0; i < d; i++)
            {
                c[i, i] += damp;
            }

            int nb = Math.Max(1, Math.Min(blocks, d));
            var sizes = new int[nb];
            for (int b = 0; b < nb; b++)
            {
                sizes[b] = d / nb;
            }

            for (int b = 0; b < d % nb; b++)
            {
                sizes[b] += 1;
            }

            // Zero outside the diagonal blocks.
            var blockDiagonal = new double[d, d];
            int start = 0;
            foreach (int size in sizes)
            {
                for (int i = start; i < start + size; i++)
                {
                    for (int j = start; j < start + size; j++)
                    {
                        blockDiagonal[i, j] = c[i, j];
                    }
                }

                start += size;
            }

            var gState = DenseOracle.TransposeMatVec(projection!, g);
            var v = DenseOracle.Solve(blockDiagonal, gState);
            precond = DenseOracle.MatVec(projection!, v);
        }

        var updated = new double[theta.Length];
        for (int i = 0; i < theta.Length; i++)
        {
            updated[i] = theta[i] - lr * precond[i];
            if (clip is double cl)
            {
                updated[i] = Math.Min(Math.Max(updated[i], -cl), cl);
            }
        }

        return (updated, DenseOracle.Norm(precond));
    }
}
