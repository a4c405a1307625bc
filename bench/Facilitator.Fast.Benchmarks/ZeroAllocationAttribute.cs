namespace Facilitator.Fast.Benchmarks;

/// <summary>Marks a benchmark whose operation must allocate nothing: the CI run (<c>--ci</c>) fails if it does.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ZeroAllocationAttribute : Attribute;
