# The multi-region layout of docs/operations.md: one module instance per region. Terraform needs one provider
# configuration per AWS region, and a module's provider cannot be chosen per for_each instance, so
# each region is a provider block and a module block; this example shows three (a, b, c). Add or
# remove blocks to match var.regions (and the list in outputs.tf).

locals {
  # Round-robin etcd members over regions: member i lives in region i % n.
  etcd_per_region = {
    for idx, r in var.regions :
    r.name => length([for m in range(var.etcd_members) : m if m % length(var.regions) == idx])
  }
  regions_by_name = { for r in var.regions : r.name => r }
  # Member names etcd-<region><n>, numbered across the cluster; the same initial
  # member list goes to every member (etcd bootstrap).
  etcd_offsets = [for idx, r in var.regions : sum(concat([0], [for j in range(idx) : local.etcd_per_region[var.regions[j].name]]))]
  etcd_names = flatten([for idx, r in var.regions : [
    for i in range(local.etcd_per_region[r.name]) : "etcd-${r.name}${i + 1 + local.etcd_offsets[idx]}"
  ]])
  etcd_initial_cluster = join(",", [for n in local.etcd_names : "${n}=https://${n}.${var.domain}:2380"])
}

provider "aws" {
  alias  = "a"
  region = var.regions[0].aws_region
}

provider "aws" {
  alias  = "b"
  region = var.regions[1].aws_region
}

provider "aws" {
  alias  = "c"
  region = var.regions[2].aws_region
}

module "region_a" {
  source               = "./modules/region"
  providers            = { aws = aws.a }
  region               = var.regions[0]
  voters               = var.voters_per_region
  proxies              = var.proxies_per_region
  admins               = var.admins_per_region
  etcd_members         = local.etcd_per_region[var.regions[0].name]
  etcd_member_offset   = local.etcd_offsets[0]
  etcd_initial_cluster = local.etcd_initial_cluster
  domain               = var.domain
  private_zone_id      = var.private_zone_id
  instance_type        = var.instance_type
  etcd_instance_type   = var.etcd_instance_type
  allowed_cidrs        = var.allowed_cidrs
  vspd_cidrs           = var.vspd_cidrs
  monitoring_cidrs     = var.monitoring_cidrs
  tags                 = var.tags
}

module "region_b" {
  source               = "./modules/region"
  providers            = { aws = aws.b }
  region               = var.regions[1]
  voters               = var.voters_per_region
  proxies              = var.proxies_per_region
  admins               = var.admins_per_region
  etcd_members         = local.etcd_per_region[var.regions[1].name]
  etcd_member_offset   = local.etcd_offsets[1]
  etcd_initial_cluster = local.etcd_initial_cluster
  domain               = var.domain
  private_zone_id      = var.private_zone_id
  instance_type        = var.instance_type
  etcd_instance_type   = var.etcd_instance_type
  allowed_cidrs        = var.allowed_cidrs
  vspd_cidrs           = var.vspd_cidrs
  monitoring_cidrs     = var.monitoring_cidrs
  tags                 = var.tags
}

module "region_c" {
  source               = "./modules/region"
  providers            = { aws = aws.c }
  region               = var.regions[2]
  voters               = var.voters_per_region
  proxies              = var.proxies_per_region
  admins               = var.admins_per_region
  etcd_members         = local.etcd_per_region[var.regions[2].name]
  etcd_member_offset   = local.etcd_offsets[2]
  etcd_initial_cluster = local.etcd_initial_cluster
  domain               = var.domain
  private_zone_id      = var.private_zone_id
  instance_type        = var.instance_type
  etcd_instance_type   = var.etcd_instance_type
  allowed_cidrs        = var.allowed_cidrs
  vspd_cidrs           = var.vspd_cidrs
  monitoring_cidrs     = var.monitoring_cidrs
  tags                 = var.tags
}
