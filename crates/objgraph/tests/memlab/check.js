// Loads a .heapsnapshot with memlab's heap parser (@memlab/core) and prints what memlab sees,
// as one JSON object on stdout:
//
//   node check.js <file.heapsnapshot> <node name>
//
// {"nodes": N, "edges": E, "found": [{"id", "retained_size", "path": [...], "summary"}, ...]}
//
// `found` has every node named <node name>, by increasing id, with the retainer path memlab
// reports for it (its shortest path to a GC root, the one memlab's leak traces show): from the
// root down to the node, each step {"node", "type", "id", "retained_size", "edge",
// "edge_type"}, where `edge` is the name or index of the edge to the next step (null on the
// last). `summary` is memlab's own text of the path.
//
// @memlab/core is found next to this script or through NODE_PATH.

'use strict';

const core = require('@memlab/core');

async function main() {
  const [file, name] = process.argv.slice(2);
  if (!file || !name) {
    throw new Error('usage: node check.js <file.heapsnapshot> <node name>');
  }
  core.config.muteConsole = true;
  // What @memlab/heap-analysis's getFullHeapFromFile does: parse, then annotate every node
  // with its shortest path to a root, its dominator and its retained size.
  const heap = await core.utils.getSnapshotFromFile(file, {buildNodeIdIndex: true});
  const finder = core.analysis.preparePathFinder(heap);

  const named = [];
  heap.nodes.forEach(node => {
    if (node.name === name) {
      named.push(node);
    }
  });
  named.sort((a, b) => a.id - b.id);
  const found = named.map(node => {
    const trace = finder.getPathToGCRoots(heap, node);
    const path = [];
    for (let item = trace; item; item = item.next) {
      path.push({
        node: item.node.name,
        type: item.node.type,
        id: item.node.id,
        retained_size: item.node.retainedSize,
        edge: item.edge ? item.edge.name_or_index : null,
        edge_type: item.edge ? item.edge.type : null,
      });
    }
    const summary = trace ? core.serializer.summarizePath(trace, new Set(), heap) : null;
    return {id: node.id, retained_size: node.retainedSize, path, summary};
  });
  const result = {nodes: heap.nodes.length, edges: heap.edges.length, found};
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
