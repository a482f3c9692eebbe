-- Tradable instruments and their reference prices (cents). Tick size one cent; price band
-- ±10 % around the last trade price (or the reference price before the first trade).
INSERT INTO instruments (symbol, name, reference_price_cents) VALUES
    ('AAPL',  'Apple Inc.',            15000),
    ('MSFT',  'Microsoft Corporation', 41000),
    ('GOOGL', 'Alphabet Inc. Class A', 17500),
    ('AMZN',  'Amazon.com, Inc.',      18500),
    ('TSLA',  'Tesla, Inc.',           25000),
    ('NVDA',  'NVIDIA Corporation',    12000),
    ('META',  'Meta Platforms, Inc.',  50000)
ON CONFLICT (symbol) DO NOTHING;
