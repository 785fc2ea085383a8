// The Cluster pass: the test Redis is a private 3-master Cluster (see fixtures.ts), set before the fixtures load.
process.env.CACHEME_TEST_CLUSTER = '1'
