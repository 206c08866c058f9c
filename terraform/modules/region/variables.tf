variable "region" {
  description = "This region: votecluster name, AWS region, subnet and image."
  type = object({
    name       = string
    aws_region = string
    subnet_id  = string
    ami_id     = string
  })
}

variable "voters" {
  type        = number
  description = "Voter instances in this region."
}

variable "proxies" {
  type        = number
  description = "dcrd hosts in this region, each running dcrd and its node proxy."
}

variable "admins" {
  type        = number
  description = "Admin service instances in this region (a VSP: one per region, vspd's three wallets)."
}

variable "etcd_members" {
  type        = number
  description = "etcd members placed in this region."
}

variable "etcd_member_offset" {
  type        = number
  description = "Index of this region's first etcd member in the cluster-wide member list (names etcd-<region><n>)."
}

variable "etcd_initial_cluster" {
  type        = string
  description = "ETCD_INITIAL_CLUSTER of every member (name=https://host:2380,...), the same in every region."
}

variable "domain" {
  type        = string
  description = "Private DNS domain of the cluster (records are created in private_zone_id)."
}

variable "private_zone_id" {
  type        = string
  description = "Route 53 private hosted zone for the domain, associated with every region's VPC."
}

variable "instance_type" {
  type = string
}

variable "etcd_instance_type" {
  type = string
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "The regions' address ranges: they reach the TLS-protected ports only (proxy gRPC 9110, etcd 2379-2380)."
}

variable "vspd_cidrs" {
  type        = list(string)
  description = "Where vspd runs: reaches the admin's wallet JSON-RPC (TLS + password, 9122)."
}

variable "monitoring_cidrs" {
  type        = list(string)
  description = "Prometheus in this region: reaches the plaintext metrics ports 9464-9466."
}

variable "tags" {
  type    = map(string)
  default = {}
}
