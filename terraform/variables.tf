variable "regions" {
  description = "One entry per votecluster region (one AWS region each). Use at least three so etcd keeps quorum when a whole region is lost."
  type = list(object({
    name       = string # votecluster region label (a, b, c, ...)
    aws_region = string # e.g. eu-central-1
    subnet_id  = string
    ami_id     = string # an image with Node 20, etcd 3.4+ and votecluster installed
  }))
  validation {
    condition     = length(var.regions) >= 3
    error_message = "Use at least three regions: etcd needs a majority of members to survive the loss of one region."
  }
}

variable "voters_per_region" {
  description = "Voter instances per region (at least two, so a region survives one voter loss)."
  type        = number
  default     = 2
  validation {
    condition     = var.voters_per_region >= 1
    error_message = "voters_per_region must be at least 1."
  }
}

variable "proxies_per_region" {
  description = "dcrd hosts per region, each running dcrd and its node proxy."
  type        = number
  default     = 1
}

variable "etcd_members" {
  description = "Total etcd members, spread round-robin over the regions. Must be odd (3 or 5)."
  type        = number
  default     = 3
  validation {
    condition     = var.etcd_members % 2 == 1 && var.etcd_members >= 3
    error_message = "etcd_members must be odd and at least 3."
  }
}

variable "instance_type" {
  description = "Instance type for voters and proxies."
  type        = string
  default     = "t3.small"
}

variable "etcd_instance_type" {
  description = "Instance type for etcd members (etcd wants fast disks: gp3 or better)."
  type        = string
  default     = "t3.medium"
}

variable "admins_per_region" {
  description = "Admin service instances per region. A VSP runs one per region: vspd needs three voting wallets on mainnet."
  type        = number
  default     = 1
}

variable "domain" {
  description = "Private DNS domain of the cluster, e.g. vc.example (certificate SANs use these names)."
  type        = string
}

variable "private_zone_id" {
  description = "Route 53 private hosted zone of the domain, associated with every region's VPC."
  type        = string
}

variable "allowed_cidrs" {
  description = "The regions' address ranges. They reach only the TLS-protected ports: proxy gRPC 9110 and etcd 2379-2380."
  type        = list(string)
}

variable "vspd_cidrs" {
  description = "Where vspd runs: reaches the admin services' wallet JSON-RPC (9122, TLS + password). Empty for a solo staker."
  type        = list(string)
  default     = []
}

variable "monitoring_cidrs" {
  description = "Prometheus address ranges: reach the plaintext metrics ports (9464-9466). Keep them inside each region."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
