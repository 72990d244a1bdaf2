-- Deterministic pseudo-random numbers for the sample generator: the same seed, key and salt always give
-- the same number, whatever the thread count or row order, so the sample regenerates byte for byte.
-- uniform: [0, 1) from the top 53 bits of a 64-bit hash of one string. (DuckDB's multi-argument
-- hash(a, b, c) combines weakly: draws with different salts came out correlated, r ≈ 0.5.)
create or replace macro uniform(seed, key, salt) as
    (hash(seed::varchar || ':' || key::varchar || ':' || salt) >> 11)::double / 9007199254740992.0;

-- normal: standard normal by Box–Muller from two uniforms.
create or replace macro normal(seed, key, salt) as
    sqrt(-2 * ln(1 - uniform(seed, key, salt || ':a'))) * cos(2 * pi() * uniform(seed, key, salt || ':b'));

-- pick: one element of a list, uniformly.
create or replace macro pick(choices, seed, key, salt) as
    choices[1 + floor(uniform(seed, key, salt) * len(choices))::integer];
