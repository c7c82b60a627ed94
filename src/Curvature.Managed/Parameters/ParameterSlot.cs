namespace Curvature.Parameters;

/// <summary>Where one named tensor lives in the flattened parameter vector.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Offset">Index of its first element in the flat vector.</param>
/// <param name="Length">Number of elements (1 for a scalar).</param>
public readonly record struct ParameterSlot(string Name, int Offset, int Length)
{
    /// <summary>One past the index of the last element.</summary>
    public int End => Offset + Length;
}
