namespace Curvature.Demo.NeuralNet;

/// <summary>The elementwise nonlinearity applied after a dense layer's affine map.</summary>
public enum Activation
{
    /// <summary>No nonlinearity (output layers).</summary>
    Identity,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary>Rectified linear unit, max(0, x).</summary>
    Relu,
}

/// <summary>Forward and derivative of <see cref="Activation"/>.</summary>
internal static class ActivationFunctions
{
    public static void Apply(Activation activation, Span<double> values)
    {
        switch (activation)
        {
            case Activation.Tanh:
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = Math.Tanh(values[i]);
                }

                break;
            case Activation.Relu:
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = Math.Max(values[i], 0);
                }

                break;
        }
    }

    /// <summary>Multiplies <paramref name="gradient"/> (w.r.t. the activation's output) by its derivative, expressed through the output.</summary>
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<double> outputs, Span<double> gradient)
    {
        switch (activation)
        {
            case Activation.Tanh:
                for (int i = 0; i < gradient.Length; i++)
                {
                    gradient[i] *= 1 - (outputs[i] * outputs[i]);
                }

                break;
            case Activation.Relu:
                for (int i = 0; i < gradient.Length; i++)
                {
                    if (outputs[i] <= 0)
                    {
                        gradient[i] = 0;
                    }
                }

                break;
        }
    }

    public static string ShortName(Activation activation) => activation switch
    {
        Activation.Tanh => "tanh",
        Activation.Relu => "relu",
        _ => "linear",
    };
}
