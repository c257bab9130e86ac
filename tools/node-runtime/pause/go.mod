module planasonix.local/tools/node-runtime/pause

go 1.25.0
