import { clusterSetup } from "./cluster.ts";

export default clusterSetup("control-plane");
