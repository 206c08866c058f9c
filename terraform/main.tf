# Example only: one module instance per region. Terraform needs one provider
# configuration per AWS region; this example shows three (a, b, c). Add or
# remove blocks to match var.regions.

locals {
  # Round-robin etcd members over regions: member i lives in region i % n.
  etcd_per_region = {
    for idx, r in var.regions :
    r.name => length([for m in range(var.etcd_members) : m if m % length(var.regions) == idx])
  }
  regions_by_name = { for r in var.regions : r.name => r }
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
  source             = "./modules/region"
  providers          = { aws = aws.a }
  region             = var.regions[0]
  voters             = var.voters_per_region
  proxies            = var.proxies_per_region
  etcd_members       = local.etcd_per_region[var.regions[0].name]
  instance_type      = var.instance_type
  etcd_instance_type = var.etcd_instance_type
  allowed_cidrs      = var.allowed_cidrs
  tags               = var.tags
}

module "region_b" {
  source             = "./modules/region"
  providers          = { aws = aws.b }
  region             = var.regions[1]
  voters             = var.voters_per_region
  proxies            = var.proxies_per_region
  etcd_members       = local.etcd_per_region[var.regions[1].name]
  instance_type      = var.instance_type
  etcd_instance_type = var.etcd_instance_type
  allowed_cidrs      = var.allowed_cidrs
  tags               = var.tags
}

module "region_c" {
  source             = "./modules/region"
  providers          = { aws = aws.c }
  region             = var.regions[2]
  voters             = var.voters_per_region
  proxies            = var.proxies_per_region
  etcd_members       = local.etcd_per_region[var.regions[2].name]
  instance_type      = var.instance_type
  etcd_instance_type = var.etcd_instance_type
  allowed_cidrs      = var.allowed_cidrs
  tags               = var.tags
}
