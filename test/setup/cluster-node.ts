import { clusterSetup } from "./cluster.ts";

export default clusterSetup("node");
