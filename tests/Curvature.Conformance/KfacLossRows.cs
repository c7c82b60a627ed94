namespace Curvature.Conformance;

/// <summary>Arranges a model output (or a tensor of its shape) as curvlinops' loss rows <c>[R, C]</c>.</summary>
public static class LossRows
{
    /// <summary>
    /// MSE/BCE: <c>output.flatten(0, −2)</c> (C = last axis). Cross-entropy with outputs <c>[N, C, S…]</c>
    /// (<paramref name="classesSecond"/>): <c>output.movedim(1, −1).flatten(0, −2)</c>.
    /// </summary>
    public static (double[] Rows, int R, int C) ToRows(double[] data, int[] shape, bool classesSecond)
    {
        if (shape.Length == 1)
        {
            return (data, data.Length, 1);
        }

        if (!classesSecond)
        {
            int c = shape[^1];
            return (data, data.Length / c, c);
        }

        int n = shape[0], classes = shape[1], s = data.Length / (n * classes);
        var rows = new double[data.Length];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < classes; j++)
            {
                for (int p = 0; p < s; p++)
                {
                    rows[(((i * s) + p) * classes) + j] = data[(((i * classes) + j) * s) + p];
                }
            }
        }

        return (rows, n * s, classes);
    }
}
